"""Token introspection (RFC 7662): what a token is, told only to who may know.

A token is revealed to the client it was issued to, or to a client that is one of its audiences (a
resource server registered with its audience URI as client id); everyone else learns only
{"active": false}, exactly as for an unknown, expired or revoked token.
"""

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from keys import jwt

from . import client_auth, client_cache, refresh
from .models import Client, TokenFamily

INACTIVE = {"active": False}


def client_authenticate(*, presented):
    """The active client these credentials authenticate, or None (same work either way)."""
    client = client_cache.client_get(presented.client_id)
    if client is not None and not client.is_active:
        client = None
    confidential = client is not None and client.client_type == Client.CLIENT_CONFIDENTIAL
    stored = client.client_secret if confidential else None
    return client if client_auth.stored_secret_matches(presented.secret, stored) else None


def _audiences(claims):
    aud = claims.get("aud", [])
    return [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)]


def _holders_active(row):
    """A token ends with its user's account and its client: both read with the token's own row,
    not from client_cache, so disabling either shows here at once in every worker."""
    if row.user is not None and not row.user.is_active:
        return False
    return row.application is None or row.application.is_active


def _access_token(token, client, now):
    row = (
        get_access_token_model()
        .objects.select_related("application", "user")
        .filter(token_checksum=refresh.checksum(token))
        .first()
    )
    if row is None or row.expires <= now or not _holders_active(row):
        return None
    try:
        # Also inactive once its signing key is revoked or no longer published: resource servers
        # verifying offline would refuse it too.
        claims = jwt.verify(token)
    except jwt.InvalidToken:
        return None
    audience = _audiences(claims) or list(row.resource or [])
    if row.application_id != client.pk and client.client_id not in audience:
        return None
    answer = {
        "active": True,
        "token_type": "Bearer",
        "scope": row.scope,
        "client_id": row.application.client_id if row.application else None,
        "sub": str(row.user.pk) if row.user else claims.get("sub"),
        "exp": claims.get("exp", int(row.expires.timestamp())),
    }
    for name in ("iat", "iss", "jti", "auth_time"):
        if name in claims:
            answer[name] = claims[name]
    if audience:
        answer["aud"] = audience if len(audience) > 1 else audience[0]
    return answer


def _refresh_token(token, client, now):
    row = (
        get_refresh_token_model()
        .objects.select_related("access_token", "application", "user")
        .filter(token_checksum=refresh.checksum(token), revoked__isnull=True, application_id=client.pk)
        .first()
    )
    if row is None or not _holders_active(row):
        return None
    family = TokenFamily.objects.filter(family=row.token_family).first() if row.token_family else None
    if refresh.refresh_token_expired(refresh_token=row, client=client, family=family, now=now):
        return None
    answer = {
        "active": True,
        "token_type": "refresh_token",
        "scope": row.access_token.scope,
        "client_id": client.client_id,
        "sub": str(row.user.pk),
    }
    if family is not None:
        answer["exp"] = int(refresh.family_deadline(family=family, client=client).timestamp())
    return answer


def token_introspect(*, token, client, token_type_hint=None, now=None):
    """RFC 7662 2.2: the introspection response for `token` as `client` may see it."""
    now = now or timezone.now()
    if not token:
        return dict(INACTIVE)
    lookups = [_access_token, _refresh_token]
    if token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        answer = lookup(token, client, now)
        if answer is not None:
            return answer
    return dict(INACTIVE)
