"""The token endpoint (RFC 6749 3.2): parse, authenticate the client, run its grant, answer.

Each grant that consumes something (a code, a refresh token) runs in one transaction holding the
row it locked until its tokens are stored. A protocol error raised inside it still commits what was
done on purpose before it (a replayed code's or refresh token's grant is revoked), and nothing else
is written before a grant's checks have passed.
"""

import contextlib

from django.db import transaction

from .. import client_authentication
from ..context import TokenRequest
from ..errors import OAuthError, invalid_request
from ..grants import GRANTS
from .form_endpoints import credential_endpoint


@credential_endpoint(
    "password", "client_secret", "client_assertion", "code", "refresh_token", "code_verifier", "device_code"
)
def token(request):
    return _issue(TokenRequest.from_http(request))


def _issue(ctx):
    ctx.grant_type = ctx.param("grant_type") or ""
    if not ctx.grant_type:
        raise invalid_request("The grant_type parameter is missing.")
    grant = GRANTS.get(ctx.grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type", f"The grant type {ctx.grant_type!r} is not supported.")
    ctx.client, ctx.auth_method = client_authentication.authenticate(
        http=ctx.http, params=ctx.params, public_allowed=grant is not GRANTS["client_credentials"]
    )
    if ctx.client.authorization_grant_type not in grant.CLIENT_GRANTS:
        # RFC 6749 5.2: the server supports the grant type, this client may not use it.
        raise OAuthError("unauthorized_client", "This client may not use this grant type.")
    with transaction.atomic() if grant.ATOMIC else contextlib.nullcontext():
        try:
            return grant.issue(ctx)
        except OAuthError as error:
            failed = error
    raise failed
