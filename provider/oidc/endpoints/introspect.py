"""Token introspection (RFC 7662): what a token is, told only to who may know.

A token is revealed to the client it was issued to, or to a client that is one of its audiences (a
resource server registered with its audience URI as client id); everyone else learns only
{"active": false}, exactly as for an unknown, expired or revoked token.
"""

from django.http import JsonResponse
from oauth2_provider.models import get_refresh_token_model

from .. import access_tokens, client_authentication, refresh
from ..access_tokens import active_access_token
from ..errors import invalid_request
from ..models import TokenFamily
from .form_endpoints import form_endpoint

INACTIVE = {"active": False}


@form_endpoint
def introspect(request):
    # RFC 7662 2.1: the caller authenticates; introspection has no public clients.
    client, _method = client_authentication.authenticate(
        http=request, params=request.POST, public_allowed=False
    )
    token = request.POST.get("token")
    if not token:
        raise invalid_request("The token parameter is missing.")
    answer = token_introspect(token=token, client=client, token_type_hint=request.POST.get("token_type_hint"))
    return JsonResponse(answer, json_dumps_params={"separators": (",", ":")})


def token_introspect(*, token, client, token_type_hint=None, now=None):
    """RFC 7662 2.2: the introspection response for `token` as `client` may see it."""
    now = now or access_tokens.current_time()
    lookups = [_access_token, _refresh_token]
    if token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        answer = lookup(token, client, now)
        if answer is not None:
            return answer
    return dict(INACTIVE)


def _audiences(claims):
    aud = claims.get("aud", [])
    return [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)]


def _access_token(token, client, now):
    active = active_access_token(token, now=now)
    if active is None:
        return None
    claims = active.claims
    audience = _audiences(claims)
    if active.client.pk != client.pk and client.client_id not in audience:
        return None
    answer = {"active": True, "token_type": "Bearer"}
    for name in ("scope", "client_id", "sub", "exp", "iat", "iss", "jti", "auth_time"):
        if name in claims:
            answer[name] = claims[name]
    if audience:
        answer["aud"] = audience if len(audience) > 1 else audience[0]
    return answer


def _refresh_token(token, client, now):
    row = (
        get_refresh_token_model()
        .objects.filter(
            token_checksum=refresh.checksum(token), revoked__isnull=True, application_id=client.pk
        )
        .first()
    )
    if row is None or not row.token_family:
        return None
    grant = TokenFamily.objects.select_related("user").filter(family=row.token_family).first()
    if grant is None or grant.revoked_at is not None or not grant.user.is_active or not client.is_active:
        return None
    if refresh.refresh_token_expired(refresh_token=row, client=client, family=grant, now=now):
        return None
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": " ".join(grant.scope_list),
        "client_id": client.client_id,
        "sub": str(grant.user.pk),
        "exp": int(refresh.family_deadline(family=grant, client=client).timestamp()),
    }
