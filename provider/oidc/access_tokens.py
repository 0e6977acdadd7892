"""Whether a presented access token is active: decided from the token itself and its grant, not a row.

Active means: signed by a published, unrevoked key (keys.jwt.verify), `typ` at+jwt, our `iss`, not
expired; its grant (named by `grant_id`) not revoked and not past its deadline, and the refresh token
issued with it (`refresh_id`) not yet used; its client and its user still active; and its `jti` not on
the deny-list of tokens revoked at /revoke. A client's own
token (client credentials) has no grant: its client's state decides. Everything that ends a grant
(refresh-token reuse, sign-out, consent revoked, a new password, an admin action) therefore ends its
access tokens at once. One query answers it all.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Exists, OuterRef
from oauth2_provider.models import get_refresh_token_model

from keys import jwt

from .models import Client, RevokedAccessToken, TokenFamily


@dataclass(frozen=True)
class ActiveAccessToken:
    claims: dict
    client: object
    user: object = None  # None for a client's own token
    grant: object = None  # the TokenFamily; None for a client's own token

    @property
    def scopes(self):
        scope = self.claims.get("scope")
        return scope.split() if isinstance(scope, str) else []


def current_time():
    """The clock introspection and userinfo judge expiry by (tests move it instead of sleeping)."""
    return datetime.now(UTC)


def verified_claims(token):
    """The claims of an access token Signet signed (expired or not), or None."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        if jwt.unverified_header(token).get("typ") != "at+jwt":
            return None  # an ID token is not an access token
        claims = jwt.verify(token)
    except jwt.InvalidToken:
        return None
    if claims.get("iss") != settings.OIDC_ISSUER:
        return None
    if not all(isinstance(claims.get(name), str) for name in ("jti", "sub", "client_id")):
        return None
    if not isinstance(claims.get("exp"), int):
        return None
    return claims


def active_access_token(token, *, now=None):
    """The ActiveAccessToken `token` is, or None when it is not (any more) active."""
    claims = verified_claims(token)
    now = now or current_time()
    if claims is None or claims["exp"] <= now.timestamp():
        return None
    denied = Exists(RevokedAccessToken.objects.filter(jti=claims["jti"]))
    grant_id = claims.get("grant_id")
    if grant_id is None:
        if claims["sub"] != claims["client_id"]:
            return None  # a user's token without a grant: issued before grants existed
        client = Client.objects.annotate(denied=denied).filter(client_id=claims["client_id"]).first()
        if client is None or client.denied or not client.is_active:
            return None
        return ActiveAccessToken(claims=claims, client=client)
    try:
        family = uuid.UUID(str(grant_id))
    except ValueError:
        return None
    refresh_id = claims.get("refresh_id")
    if not isinstance(refresh_id, int):
        return None
    current = Exists(
        get_refresh_token_model().objects.filter(
            pk=refresh_id, token_family=OuterRef("family"), revoked__isnull=True
        )
    )
    grant = (
        TokenFamily.objects.select_related("user", "client")
        .annotate(denied=denied, current=current)
        .filter(family=family)
        .first()
    )
    if (
        grant is None
        or grant.denied
        or not grant.current
        or grant.revoked_at is not None
        or grant.expires_at <= now
        or not grant.user.is_active
        or not grant.client.is_active
        or grant.client.client_id != claims["client_id"]
        or str(grant.user.pk) != claims["sub"]
    ):
        return None
    return ActiveAccessToken(claims=claims, client=grant.client, user=grant.user, grant=grant)


def deny(claims):
    """Put a verified access token on the deny-list until it expires (RFC 7009 2.1)."""
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    RevokedAccessToken.objects.get_or_create(jti=claims["jti"], defaults={"expires_at": expires_at})
