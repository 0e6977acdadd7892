"""What a successful token request answers: the RFC 9068 access token, the ID token, the refresh token.

Access tokens are self-contained: besides RFC 9068's claims each carries its `jti` and, for a user's
token, the `grant_id` of the grant it belongs to and the `refresh_id` of the refresh token issued
with it. At introspection and userinfo a token is active while its grant is and that refresh token
is unused: a refresh ends the access token it replaces, as a rotation should. Nothing is stored per
access token or per ID token; issuance is one JSON log line (and an audit row only with
SIGNET_AUDIT_TOKEN_ROWS).
"""

import base64
import hashlib
import uuid

from django.conf import settings

from keys import jwt
from provider.audit import audit

from . import audiences, lifetimes, refresh
from .claims import claims_for, user_claims, user_groups
from .consent import named_claim_scopes
from .models import token_signing_alg

# RFC 8176: what a grant recorded before sign-in methods were recorded was (a password was all there was).
AMR_PASSWORD = ["pwd"]


def access_token_claims(ctx, *, refresh_id=None):
    client, user, grant = ctx.client, ctx.user, ctx.grant
    claims = {
        "iss": settings.OIDC_ISSUER,
        "sub": str(user.pk) if user is not None else client.client_id,
        "aud": audiences.token_audience(ctx.resources, client),
        "client_id": client.client_id,
        "iat": ctx.epoch,
        "exp": ctx.epoch + int(lifetimes.access_token_lifetime(client)),
        "jti": uuid.uuid4().hex,
    }
    if ctx.scopes:
        claims["scope"] = " ".join(ctx.scopes)
    if grant is not None:
        claims["grant_id"] = str(grant.family)
        if refresh_id is not None:
            claims["refresh_id"] = refresh_id
        if grant.auth_time:
            claims["auth_time"] = int(grant.auth_time)
    if user is not None and client.identity_claims_in_access_token:
        held = user_claims(user)
        if "email" in ctx.scopes:
            claims["email"] = held["email"]
        if "profile" in ctx.scopes:
            for name in ("given_name", "family_name"):
                if held[name]:
                    claims[name] = held[name]
    if user is not None and client.groups_in_access_token and "groups" in ctx.scopes:
        # Only for clients that ask: a resource server deciding by group reads it offline, and
        # every other client's tokens stay as small (and as cheap to issue) as before.
        claims["groups"] = user_groups(user)
    return claims


def token_hash(value):
    """OIDC Core 3.1.3.6 at_hash: the left half of the SHA-256 of the token, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def id_token_claims(ctx, *, access_token):
    """OIDC Core 2 and 3.1.3.6; on refresh, 12.2: auth_time, sid and acr stay the sign-in's."""
    client, user, grant = ctx.client, ctx.user, ctx.grant
    claims_request = grant.id_token_claims if grant is not None else None
    claims = claims_for(
        user,
        ctx.scopes,
        claims_request=claims_request,
        target="id_token",
        allowed_scopes=named_claim_scopes(
            user=user, client=client, granted=ctx.scopes, claims_request=claims_request
        ),
    )
    claims.update(
        {
            "iss": settings.OIDC_ISSUER,
            "aud": client.client_id,
            "iat": ctx.epoch,
            "exp": ctx.epoch + int(lifetimes.id_token_lifetime(client)),
            "jti": str(uuid.uuid4()),
            "at_hash": token_hash(access_token),
            "amr": list(grant.amr) if grant is not None and grant.amr else AMR_PASSWORD,
        }
    )
    if grant is not None and grant.auth_time:
        claims["auth_time"] = int(grant.auth_time)
    if grant is not None and grant.sid:
        claims["sid"] = grant.sid
    if grant is not None and grant.acr:  # OIDC Core 2: only when acr_values or the claims parameter asked
        claims["acr"] = grant.acr
    if ctx.nonce:
        claims["nonce"] = ctx.nonce
    return claims


def token_response(ctx, *, with_refresh_token, with_id_token):
    """RFC 6749 5.1 (and OIDC Core 3.1.3.3): the body of a successful token response."""
    refresh_token = row = None
    if with_refresh_token:
        refresh_token, row = refresh.refresh_token_issue(
            grant=ctx.grant, resources=ctx.resources, now=ctx.now
        )
    claims = access_token_claims(ctx, refresh_id=row.pk if row is not None else None)
    # The client's id_token_signed_response_alg signs its access token too: a client (and the APIs it
    # calls) that chose ES256 or EdDSA need not handle RSA at all.
    alg = token_signing_alg(ctx.client)
    access_token = jwt.sign(claims, typ="at+jwt", alg=alg)
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": claims["exp"] - claims["iat"],
    }
    if ctx.scopes:
        body["scope"] = " ".join(ctx.scopes)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if with_id_token and ctx.user is not None and "openid" in ctx.scopes:
        body["id_token"] = jwt.sign(id_token_claims(ctx, access_token=access_token), typ="JWT", alg=alg)
    issued(ctx, claims)
    return body


def issued(ctx, claims):
    """Routine issuance is a log line; SIGNET_AUDIT_TOKEN_ROWS keeps an audit row per token too."""
    fields = {
        "grant_type": ctx.grant_type,
        "scope": claims.get("scope", ""),
        "jti": claims["jti"],
        "grant_id": claims.get("grant_id", ""),
    }
    actor = ctx.user.pk if ctx.user is not None else None
    store = settings.SIGNET_AUDIT_TOKEN_ROWS
    audit("token.issued", actor=actor, client_id=ctx.client.client_id, store=store, **fields)
