"""OIDC Back-Channel Logout 1.0 at the sample relying party: the provider says a sign-in ended.

At sign-in (rp_views.callback) the session key is recorded under the ID token's `sid` and `sub`, in
the cache that also holds the sessions. A verified logout token ends the sessions recorded under its
`sid` (or, with no sid, every session of its `sub`) by deleting them from the session store: the
browser's next request finds itself signed out. Each `jti` is accepted once (2.6 step 8), kept until
the token expires.

The index is read-modify-write in the cache, without a lock: two sign-ins under one sid at the same
instant could lose a key. A sample's trade-off; a production RP keeps the index in a database.
"""

import hashlib
import json
import logging
import time
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import tokens
from .jwks import KeysUnavailable, jwks_client

log = logging.getLogger(__name__)

MAX_SESSIONS_PER_KEY = 64  # a bound on one sid's or sub's list, so the index cannot grow without limit


def _index_key(kind, value):
    # Hashed: cache keys must be short and plain, and sid/sub come from the provider as any string.
    digest = hashlib.sha256(json.dumps([settings.RESOURCE_ISSUER, kind, value]).encode()).hexdigest()
    return f"rp_backchannel:{kind}:{digest}"


def session_record(session_key, claims):
    """Remember that `session_key` is the sign-in of the ID token's sid and sub."""
    for kind in ("sid", "sub"):
        value = claims.get(kind)
        if not isinstance(value, str) or not value:
            continue
        key = _index_key(kind, value)
        keys = [k for k in cache.get(key, []) if k != session_key][-(MAX_SESSIONS_PER_KEY - 1) :]
        cache.set(key, [*keys, session_key], timeout=settings.SESSION_COOKIE_AGE)


def sessions_end(*, sid=None, sub=None):
    """End the sessions of `sid` or, with no sid, of `sub` (2.6 step 9); the number ended."""
    key = _index_key("sid", sid) if sid else _index_key("sub", sub)
    session_keys = cache.get(key, [])
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session_key in session_keys:
        store().delete(session_key)
    cache.delete(key)
    return len(session_keys)


def jti_first_use(claims, *, now, leeway):
    """2.6 step 8 (the jti rule): True the first time a jti is seen; remembered until the token expires."""
    seconds = max(int(claims["exp"] - now + leeway), 1)
    digest = hashlib.sha256(claims["jti"].encode()).hexdigest()
    return cache.add(f"rp_backchannel:jti:{digest}", 1, timeout=seconds)


def _refused(description):
    # 2.8: 400 on failure, with an error and description as in OAuth 2.0; never cached.
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


@csrf_exempt  # a server-to-server POST from the provider: it has no cookie and no CSRF token
@never_cache  # 2.8: Cache-Control: no-store (never_cache includes it)
@require_POST
def logout(request):
    """The back-channel logout URI: verify the logout token, end its sessions, answer 200."""
    try:
        token = request.POST.get("logout_token", "")
    # A body Django cannot parse as a form (bad multipart, too large, too many fields): refused here,
    # in this endpoint's own error shape.
    except (MultiPartParserError, SuspiciousOperation, UnicodeDecodeError):
        return _refused("the request body is not a form")
    if not token:
        return _refused("logout_token is missing")
    if not settings.RESOURCE_CLIENT_ID:
        return _refused("this sample has no client configured")
    now = time.time()
    try:
        claims = tokens.logout_token_verify(
            token,
            keys=jwks_client(),
            issuer=settings.RESOURCE_ISSUER,
            client_id=settings.RESOURCE_CLIENT_ID,
            algorithms=settings.RESOURCE_ALGORITHMS,
            leeway=settings.RESOURCE_LEEWAY_SECONDS,
            now=now,
        )
    except tokens.InvalidToken as e:
        return _refused(str(e))
    except KeysUnavailable:
        log.warning("back-channel logout: the provider's keys cannot be fetched")
        return _refused("the provider's keys cannot be fetched right now")
    if not jti_first_use(claims, now=now, leeway=settings.RESOURCE_LEEWAY_SECONDS):
        return _refused("this logout token was already used")
    ended = sessions_end(sid=claims.get("sid"), sub=claims.get("sub"))
    log.info("back-channel logout ended %d session(s)", ended)
    return JsonResponse({}, status=200)
