"""RFC 9068 JWT access tokens.

oauthlib calls `signed_access_token(request)` as its access-token generator; DOT still stores a
checksum row for each token so revocation, introspection and userinfo work.
"""

import time
import uuid

from django.conf import settings

from keys import jwt

from .claims import user_claims


def access_token_lifetime(client):
    return getattr(client, "access_token_lifetime", None) or settings.SIGNET_ACCESS_TOKEN_LIFETIME


def _resources(request):
    resource = getattr(request, "resource", None)
    if isinstance(resource, str):
        return [resource] if resource.strip() else []
    return list(resource or [])


def audience_for(request):
    """RFC 8707 resource if given, else the client's default audience, else SIGNET_DEFAULT_AUDIENCE."""
    resources = _resources(request)
    if resources:
        return resources[0] if len(resources) == 1 else resources
    client = request.client
    if client.audience_list:
        return client.audience_list[0]
    return settings.SIGNET_DEFAULT_AUDIENCE or client.client_id


def access_token_claims(request, *, now=None):
    now = int(now if now is not None else time.time())
    client = request.client
    user = getattr(request, "user", None)
    if getattr(request, "grant_type", None) == "client_credentials":
        user = None
    scopes = list(request.scopes or [])
    claims = {
        "iss": settings.OIDC_ISSUER,
        "sub": str(user.pk) if user is not None else client.client_id,
        "aud": audience_for(request),
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + access_token_lifetime(client),
        "jti": uuid.uuid4().hex,
    }
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
