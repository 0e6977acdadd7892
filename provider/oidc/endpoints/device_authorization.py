"""The device authorization endpoint (RFC 8628 3.1, 3.2): a device asks for a device code and a user code.

Client authentication as at the token endpoint (a public client sends its client_id alone); only a
client registered for the device grant may ask. Errors are RFC 6749 5.2 JSON (RFC 8628 3.2).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from .. import client_authentication, device
from ..context import TokenRequest
from ..errors import OAuthError
from ..grants import device_code
from ..grants.rules import allowed_resources, requested_scopes
from .form_endpoints import credential_endpoint

# RFC 6749 3.3: what is granted when the request names no scope.
DEFAULT_SCOPES = ("openid",)


@credential_endpoint("client_secret", "client_assertion")
def device_authorization(request):
    ctx = TokenRequest.from_http(request)
    ctx.grant_type = device_code.GRANT_TYPE
    return _start(ctx)


def _start(ctx):
    ctx.client, ctx.auth_method = client_authentication.authenticate(
        http=ctx.http, params=ctx.params, public_allowed=True
    )
    check_client_may_use_device_grant(ctx.client)
    scopes = requested_scopes(
        ctx, within=set(ctx.client.scope_list) & set(settings.SIGNET_SCOPES), default=DEFAULT_SCOPES
    )
    resources = allowed_resources(ctx)
    value, row = device.device_authorization_start(client=ctx.client, scopes=scopes, resources=resources)
    user_code = device.user_code_display(row.user_code)
    verification_uri = settings.OIDC_ISSUER + reverse("oauth2_provider:device")
    return {
        "device_code": value,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": f"{verification_uri}?{urlencode({'user_code': user_code})}",
        "expires_in": int((row.expires_at - row.created_at).total_seconds()),
        "interval": row.interval,
    }


def check_client_may_use_device_grant(client):
    # RFC 8628 3.2 / RFC 6749 5.2: unauthorized_client for a client not registered for this grant.
    if client.authorization_grant_type not in device_code.CLIENT_GRANTS:
        raise OAuthError("unauthorized_client", "This client may not use the device authorization grant.")
