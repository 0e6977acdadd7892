"""Whether a presented access token is active: decided from the token itself and its grant, not a row.

Active means: signed by a published, unrevoked key (keys.jwt.verify), `typ` at+jwt, our `iss`, not
expired; its grant (named by `grant_id`) not revoked and not past its deadline, and the refresh token
issued with it (`refresh_id`) not yet used; its client and its user still active; and its `jti` not on
the deny-list of tokens revoked at /revoke. A client's own
token (client credentials) has no grant: its client's state decides. Everything that ends a grant
(refresh-token reuse, sign-out, consent revoked, a new password, an admin action) therefore ends its
access tokens at once. One statement answers it all.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection

from keys import jwt
from keys.selectors import key_by_kid

from . import client_cache, storage
from .models import Client, RevokedAccessToken


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


# Access tokens whose signature this process has verified, by their exact text: resource servers and
# relying parties present one token many times, and its signature and claims never change. What can
# change is checked at every presentation all the same: that its key is still published (a revoked
# key ends its tokens at once), its expiry, and its grant (active_access_token). Only verified tokens
# are kept, so nobody fills this with garbage; oldest first out.
VERIFIED_KEPT = 1024
_verified = {}  # token → (issuer, kid, claims); the claims dict is shared: callers only read it


def verified_claims(token):
    """The claims of an access token Signet signed (expired or not), or None. Do not modify them."""
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    kept = _verified.get(token)
    if kept is not None:
        issuer, kid, claims = kept
        if issuer == settings.OIDC_ISSUER and key_by_kid(kid) is not None:
            return claims
        return None
    try:
        header = jwt.unverified_header(token)
        if header.get("typ") != "at+jwt":
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
    _keep(token, (settings.OIDC_ISSUER, header["kid"], claims))
    return claims


def _keep(token, entry):
    while len(_verified) >= VERIFIED_KEPT:
        try:
            del _verified[next(iter(_verified))]
        except (KeyError, RuntimeError, StopIteration):  # another thread took it first
            break
    _verified[token] = entry


def active_access_token(token, *, now=None):
    """The ActiveAccessToken `token` is, or None when it is not (any more) active."""
    claims = verified_claims(token)
    now = now or current_time()
    if claims is None or claims["exp"] <= now.timestamp():
        return None
    if claims.get("grant_id") is None:
        return _client_token(claims)
    try:
        family = uuid.UUID(str(claims["grant_id"]))
    except ValueError:
        return None
    refresh_id = claims.get("refresh_id")
    if not isinstance(refresh_id, int):
        return None
    state = storage.grant_state(family=family, refresh_id=refresh_id, jti=claims["jti"])
    if state is None:
        return None
    grant, user = state.grant, state.grant.user
    if (
        state.denied
        or not state.refresh_token_current
        or grant.revoked_at is not None
        or grant.expires_at <= now
        or not user.is_active
        or not state.client_active
        or state.client_id != claims["client_id"]
        or str(user.pk) != claims["sub"]
    ):
        return None
    # Its scopes and consent policy; its state was read above. Read only, so the cached instance.
    client = client_cache.client_shared(state.client_id)
    if client is None:
        return None
    grant.client = client
    return ActiveAccessToken(claims=claims, client=client, user=user, grant=grant)


def _client_token(claims):
    """A client's own token (client credentials): its client's state decides."""
    if claims["sub"] != claims["client_id"]:
        return None  # a user's token without a grant: issued before grants existed
    row = _fetch_one(_client_state_sql(), [claims["jti"], claims["client_id"]])
    if row is None or row[1] or not row[0]:
        return None
    client = client_cache.client_shared(claims["client_id"])
    return ActiveAccessToken(claims=claims, client=client) if client is not None else None


# One statement each, written out: compiling the same lookup through the ORM (select_related, two
# EXISTS annotations) cost more CPU per request than everything else userinfo does (bench/README.md).
def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


# The models' own table names, quoted; every value is a bound parameter.
@functools.cache
def _client_state_sql():
    client, denied = _table(Client), _table(RevokedAccessToken)
    return (
        f"SELECT c.is_active, EXISTS (SELECT 1 FROM {denied} d WHERE d.jti = %s) "  # noqa: S608
        f"FROM {client} c WHERE c.client_id = %s"
    )


def _fetch_one(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def deny(claims):
    """Put a verified access token on the deny-list until it expires (RFC 7009 2.1)."""
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    RevokedAccessToken.objects.get_or_create(jti=claims["jti"], defaults={"expires_at": expires_at})
