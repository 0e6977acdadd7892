"""DRF authentication with the provider's access tokens: header → token → verified claims → TokenUser.

No database is touched: the caller is whoever the verified claims say. Errors speak RFC 6750:
401 with `WWW-Authenticate: Bearer error="invalid_token"` for a bad token, 400 `invalid_request`
for a malformed request, 403 `insufficient_scope` (see permissions.py).
"""

import functools
import logging

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication

from . import tokens
from .jwks import KeysUnavailable, jwks_client
from .resource_metadata import metadata_url
from .verified import VerifiedTokens

log = logging.getLogger(__name__)


@functools.cache
def verified_tokens():
    """The process's VerifiedTokens, sized by RESOURCE_VERIFIED_TOKENS on first use."""
    return VerifiedTokens(settings.RESOURCE_VERIFIED_TOKENS)


REALM = "sample-api"


def resource_metadata_param():
    """RFC 9728 5.1: a 401's challenge names this API's protected-resource metadata."""
    return f'resource_metadata="{metadata_url(settings.RESOURCE_AUDIENCE)}"'


def is_client_token(claims):
    """True when a token speaks for its client alone (client credentials), not for a user.

    RFC 9068 5 / RFC 9700 4.15: such a token's `sub` is the client id and it carries no
    `auth_time`, since no user signed in. Both must hold: a user token always has auth_time.
    """
    return claims.get("sub") == claims.get("client_id") and "auth_time" not in claims


class TokenUser:
    """The caller as the access token describes it: there is no user row behind it.

    `is_client` tells a client acting on its own behalf from a user: then `pk` and `username`
    are the client id, and no user is behind the request.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, claims):
        self.claims = claims
        self.pk = self.id = self.username = claims["sub"]
        self.client_id = claims["client_id"]
        self.scopes = frozenset(claims.get("scope", "").split())
        self.is_client = is_client_token(claims)

    def __str__(self):
        return self.username


class BearerError(exceptions.AuthenticationFailed):
    """An RFC 6750 3.1 error: `error` goes into the WWW-Authenticate challenge."""

    error = "invalid_token"


class InvalidToken(BearerError):
    pass


class InvalidRequest(BearerError):
    status_code = status.HTTP_400_BAD_REQUEST
    error = "invalid_request"


class TokenKeysUnavailable(exceptions.APIException):
    # Neither the token's fault nor the caller's: the provider's keys could not be fetched.
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The token cannot be verified right now; try again shortly."
    default_code = "temporarily_unavailable"


def _bearer_token(request):
    """The Bearer token from the Authorization header; None when the request carries none."""
    # RFC 6750 2.3 allows tokens in the URL; we refuse them: URLs end up in logs and Referer headers.
    # Most requests have no query string: then there is none to parse into a QueryDict.
    if request.META.get("QUERY_STRING") and "access_token" in request.query_params:
        raise InvalidRequest("Send the access token in the Authorization header, not in the URL.")
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.strip()
    if not credentials or " " in credentials:
        raise InvalidRequest("Malformed Bearer credentials.")
    return credentials


class BearerTokenAuthentication(BaseAuthentication):
    """Accepts the provider's RFC 9068 access tokens meant for RESOURCE_AUDIENCE."""

    def authenticate(self, request):
        token = _bearer_token(request)
        if token is None:
            return None
        try:
            keys = jwks_client()
            claims = verified_tokens().access_token_verify(
                token,
                keys=keys,
                issuer=settings.RESOURCE_ISSUER,
                audience=settings.RESOURCE_AUDIENCE,
                algorithms=keys.accepted_algorithms(settings.RESOURCE_ALGORITHMS),
                leeway=settings.RESOURCE_LEEWAY_SECONDS,
            )
        except tokens.InvalidToken as e:
            raise InvalidToken(str(e)) from e
        except KeysUnavailable as e:
            log.error("cannot verify access tokens: %s", e)
            raise TokenKeysUnavailable() from e
        return TokenUser(claims), claims

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return f'Bearer realm="{REALM}", {resource_metadata_param()}'
