"""Token revocation (RFC 7009).

A refresh token ends its whole grant, and with it every access token issued from it. An access token
goes on the deny-list until it expires. Only the client a token was issued to may revoke it; for
anything else, an unknown token included, the answer is the same 200 (RFC 7009 2.2).
"""

from django.http import HttpResponse
from oauth2_provider.models import get_refresh_token_model

from provider.audit import audit

from .. import client_authentication, refresh
from ..access_tokens import deny, verified_claims
from ..errors import invalid_request
from .form_endpoints import form_endpoint


@form_endpoint
def revoke(request):
    client, _method = client_authentication.authenticate(http=request, params=request.POST)
    token = request.POST.get("token")
    if not token:
        raise invalid_request("The token parameter is missing.")
    hint = request.POST.get("token_type_hint")
    revokers = [_refresh_token, _access_token]
    if hint == "access_token":
        revokers.reverse()
    for revoker in revokers:
        if revoker(token, client):
            break
    return HttpResponse(status=200)


def _refresh_token(token, client):
    row = (
        get_refresh_token_model()
        .objects.filter(token_checksum=refresh.checksum(token), application_id=client.pk)
        .values_list("token_family", "user_id")
        .first()
    )
    if row is None:
        return False
    refresh.family_revoke(family=row[0], event="token.revoked", client_id=client.client_id, actor=row[1])
    return True


def _access_token(token, client):
    claims = verified_claims(token)
    if claims is None or claims["client_id"] != client.client_id:
        return False
    deny(claims)
    audit(
        "token.revoked",
        actor=None if claims["sub"] == client.client_id else claims["sub"],
        client_id=client.client_id,
        jti=claims["jti"],
    )
    return True
