"""One module per grant type (RFC 6749 4.1, 4.3, 4.4, 6; RFC 8628 3.4). Each says which registered
clients may use it, whether it runs in a transaction, and `issue(ctx)`: check the grant, then answer
through issuance."""

from . import authorization_code, client_credentials, device_code, password, refresh_token

GRANTS = {
    "authorization_code": authorization_code,
    "refresh_token": refresh_token,
    "client_credentials": client_credentials,
    "password": password,
    device_code.GRANT_TYPE: device_code,
}
