"""The public keys a private_key_jwt client signs its assertions with: its registered JWK Set, or the
set its jwks_uri serves, fetched and cached. Imports no DOT.

A jwks_uri is fetched by safe_fetch (https only, a timeout, a size limit, no redirects, never a
private, loopback or link-local address unless SIGNET_ALLOW_PRIVATE_JWKS_URI allows it). A fetched
set is kept for its Cache-Control max-age, within bounds, and fetched again when an assertion names a
kid it lacks, at most once per REFETCH_INTERVAL. If the URL fails, the keys last fetched serve for up
to MAX_STALE_SECONDS.
"""

import json
import logging
import threading
import time
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

import jwt
from django.conf import settings

from . import safe_fetch
from .safe_fetch import public_address  # noqa: F401 - part of this module's interface

log = logging.getLogger("signet.client_keys")

# RFC 7517 6.2.2, 6.3.2, 6.4: members that only a private (or symmetric) key has.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 20
MIN_RSA_BITS = 2048
FETCH_TIMEOUT_SECONDS = 5
MAX_JWKS_BYTES = 64 * 1024
DEFAULT_CACHE_SECONDS = 300
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 60 * 60
# An unknown kid refetches at most this often: made-up kids must not turn Signet against the client's server.
REFETCH_INTERVAL = 5
# When the jwks_uri fails, the keys last fetched stay in use this long (retried every REFETCH_INTERVAL):
# a client's brief outage must not lock it out, nor a long one keep a key it may have withdrawn.
MAX_STALE_SECONDS = 60 * 60


class JwksUnavailable(Exception):
    """The jwks_uri could not give a usable JWK Set (the message names why, never its content)."""


class ClientKey(NamedTuple):
    kid: str | None
    jwk: str  # the public JWK as canonical JSON (hashable, for the verifier cache)
    algorithms: tuple[str, ...]  # what this key may verify, the registered alg already applied

    def verifier(self, alg):
        """The PyJWK bound to `alg` (PyJWT refuses a token whose header names another algorithm)."""
        return _verifier(self.jwk, alg)


@lru_cache(maxsize=512)
def _verifier(jwk, alg):
    return jwt.PyJWK(json.loads(jwk), algorithm=alg)


def key_algorithms(jwk):
    """The assertion algorithms a public JWK can verify: never none, never an HMAC (RFC 8725 3.1)."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return ("RS256", "PS256")
    if kty == "EC" and crv == "P-256":
        return ("ES256",)
    if kty == "OKP" and crv == "Ed25519":
        return ("EdDSA",)
    return ()


def _key_problem(jwk):
    if not isinstance(jwk, dict):
        return "each key must be a JSON object"
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        return f"a key holds private members ({', '.join(private)}): register public keys only"
    if not key_algorithms(jwk):
        return "each key must be RSA, EC P-256 or OKP Ed25519"
    if "kid" in jwk and (not isinstance(jwk["kid"], str) or not jwk["kid"]):
        return "a kid must be a non-empty string"
    if jwk.get("use", "sig") != "sig":
        return "a key's use must be sig"
    if "alg" in jwk and jwk["alg"] not in key_algorithms(jwk):
        return f"a key's alg must be one of {', '.join(key_algorithms(jwk))}"
    try:
        parsed = jwt.PyJWK(jwk, algorithm=key_algorithms(jwk)[0]).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        # PyJWT's message repeats the key: never shown.
        return "a key could not be read as a JWK"
    if jwk["kty"] == "RSA" and parsed.key_size < MIN_RSA_BITS:
        return f"an RSA key must have at least {MIN_RSA_BITS} bits"
    return None


def jwks_problem(jwks):
    """Why `jwks` is not a usable JWK Set of public signing keys, or None."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return 'Not a JWK Set: a JSON object {"keys": [...]} with at least one key.'
    keys = jwks["keys"]
    if len(keys) > MAX_KEYS:
        return f"At most {MAX_KEYS} keys."
    for jwk in keys:
        if problem := _key_problem(jwk):
            return problem[0].upper() + problem[1:] + "."
    kids = [jwk.get("kid") for jwk in keys]
    # An assertion picks its key by kid, or names none when there is only one key.
    if len(keys) > 1 and (None in kids or len(set(kids)) != len(kids)):
        return "With more than one key, every key needs a kid of its own."
    return None


def jwks_uri_problem(uri):
    """Why `uri` cannot be a client's jwks_uri, or None (an https URL without a fragment or credentials)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "Not a URL."
    if parts.scheme != "https" or not parts.hostname:
        return "The JWKS URI must be an https URL."
    if parts.fragment or parts.username is not None or parts.password is not None:
        return "The JWKS URI may have neither a fragment nor credentials."
    return None


def parse_jwks(jwks, *, alg=""):
    """The keys of a JWK Set already found valid, each with the algorithms it may verify (only `alg`
    when the client registered one)."""
    return _parse(json.dumps(jwks, sort_keys=True, separators=(",", ":")), alg)


@lru_cache(maxsize=256)
def _parse(canonical, alg):
    keys = []
    for jwk in json.loads(canonical)["keys"]:
        public = {name: value for name, value in jwk.items() if name not in PRIVATE_MEMBERS}
        algorithms = tuple(a for a in key_algorithms(public) if not alg or a == alg)
        if "alg" in public:
            algorithms = tuple(a for a in algorithms if a == public["alg"])
        keys.append(ClientKey(public.get("kid"), json.dumps(public, sort_keys=True), algorithms))
    return tuple(keys)


def select_key(keys, kid):
    """The key an assertion names by kid, or the only key when it names none; else None."""
    if kid is not None:
        return next((key for key in keys if key.kid == kid), None)
    return keys[0] if len(keys) == 1 else None


def client_key(client, kid):
    """The key of `client` that verifies an assertion with header `kid`, or None.

    Raises JwksUnavailable when the client's jwks_uri cannot be fetched.
    """
    alg = client.token_endpoint_auth_signing_alg
    if client.jwks_uri:
        key = select_key(parse_jwks(_cached_jwks(client.jwks_uri), alg=alg), kid)
        if key is None and kid is not None and _may_refetch(client.jwks_uri):
            # The client may have rotated its keys since the set was fetched.
            key = select_key(parse_jwks(_cached_jwks(client.jwks_uri, refetch=True), alg=alg), kid)
        return key
    if client.jwks is None:
        return None
    return select_key(parse_jwks(client.jwks, alg=alg), kid)


# --- jwks_uri: fetching and caching ---------------------------------------------------------------
class _Entry(NamedTuple):
    jwks: dict
    fresh_until: float
    tried_at: float  # the last fetch attempt, successful or not
    fetched_at: float  # the last successful fetch


_lock = threading.Lock()
_entries = {}  # uri -> _Entry
_failures = {}  # uri -> (monotonic time before which it is not tried again, why it failed)
MAX_ENTRIES = 1024


def clock():
    return time.monotonic()


def clear():
    with _lock:
        _entries.clear()
        _failures.clear()


def _may_refetch(uri):
    entry = _entries.get(uri)
    return entry is None or clock() - entry.tried_at >= REFETCH_INTERVAL


def _cached_jwks(uri, *, refetch=False):
    entry = _entries.get(uri)
    now = clock()
    if entry is not None and entry.fresh_until > now and not refetch:
        return entry.jwks
    failed = _failures.get(uri)
    if (
        failed is not None
        and failed[0] > now
        and (entry is None or now - entry.fetched_at > MAX_STALE_SECONDS)
    ):
        # It failed moments ago: not asked again before REFETCH_INTERVAL, whatever the traffic.
        raise JwksUnavailable(failed[1])
    try:
        jwks, lifetime = fetch_jwks(uri)
    except JwksUnavailable as e:
        if entry is None or now - entry.fetched_at > MAX_STALE_SECONDS:
            with _lock:
                if len(_failures) >= MAX_ENTRIES:
                    _failures.clear()
                _failures[uri] = (now + REFETCH_INTERVAL, str(e))
            raise
        log.warning(
            "jwks_uri %s unavailable (%s): using the keys fetched %d s ago", uri, e, now - entry.fetched_at
        )
        _store(uri, entry._replace(fresh_until=now + REFETCH_INTERVAL, tried_at=now))
        return entry.jwks
    _store(uri, _Entry(jwks, now + lifetime, now, now))
    _failures.pop(uri, None)
    return jwks


def _store(uri, entry):
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[uri] = entry


def cache_lifetime(cache_control):
    """Seconds to keep a fetched set: its max-age within [MIN, MAX]_CACHE_SECONDS (no-store and
    no-cache count as the minimum: assertions still need keys between two requests)."""
    return safe_fetch.cache_lifetime(
        cache_control, default=DEFAULT_CACHE_SECONDS, minimum=MIN_CACHE_SECONDS, maximum=MAX_CACHE_SECONDS
    )


def fetch_jwks(uri):
    """GET the JWK Set at `uri`: (jwks, seconds to cache it), or JwksUnavailable."""
    if problem := jwks_uri_problem(uri):
        raise JwksUnavailable(problem)
    try:
        status, cache_control, body = safe_fetch.fetch(
            uri,
            allow_private=settings.SIGNET_ALLOW_PRIVATE_JWKS_URI,
            max_bytes=MAX_JWKS_BYTES,
            accept="application/jwk-set+json, application/json",
            what="the JWKS URI",
            document="the JWK Set",
            timeout=FETCH_TIMEOUT_SECONDS,
        )
    except safe_fetch.FetchRefused as e:
        raise JwksUnavailable(str(e)) from e
    if status != 200:
        # Redirects are not followed: a 3xx lands here too.
        raise JwksUnavailable(f"the JWKS URI answered {status}")
    try:
        jwks = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise JwksUnavailable("the JWKS URI did not serve JSON") from e
    if problem := jwks_problem(jwks):
        raise JwksUnavailable(f"the JWKS URI did not serve a usable JWK Set: {problem}")
    return jwks, cache_lifetime(cache_control)
