"""RFC 9068 JWT access tokens.

oauthlib calls `signed_access_token(request)` as its access-token generator; DOT still stores a
checksum row for each token so revocation, introspection and userinfo work.
"""

import time
import uuid

from django.conf import settings

from keys import jwt

from . import audiences, lifetimes
from .claims import user_claims


def access_token_claims(request, *, now=None):
    now = int(now if now is not None else time.time())
    client = request.client
    user = getattr(request, "user", None)
    if getattr(request, "grant_type", None) == "client_credentials":
        user = None
    scopes = list(request.scopes or [])
    # oauthlib sets expires_in (lifetimes.access_token_expires_in) before calling the generator;
    # DOT stores the same figure, so the JWT's exp and the row's expiry agree.
    lifetime = getattr(request, "expires_in", None) or lifetimes.access_token_lifetime(client)
    claims = {
        "iss": settings.OIDC_ISSUER,
        "sub": str(user.pk) if user is not None else client.client_id,
        "aud": audiences.token_audience(audiences.as_list(getattr(request, "resource", None)), client),
        "client_id": client.client_id,
        "iat": now,
        "exp": now + int(lifetime),
        "jti": uuid.uuid4().hex,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    if user is not None:
        auth_time = getattr(request, "auth_time", None)
        if auth_time:
            claims["auth_time"] = int(auth_time)
        if client.identity_claims_in_access_token:
            held = user_claims(user)
            if "email" in scopes:
                claims["email"] = held["email"]
            if "profile" in scopes:
                for name in ("given_name", "family_name"):
                    if held[name]:
                        claims[name] = held[name]
    return claims


def signed_access_token(request, refresh_token=False):
    """The access-token generator oauthlib calls (ACCESS_TOKEN_GENERATOR)."""
    return jwt.sign(access_token_claims(request), typ="at+jwt")
