"""The provider's discovery document and key set, fetched over HTTP and cached in this process.

The rules a resource server needs so that a key rotation is picked up at once, a flood of forged
`kid`s cannot hammer the provider, and a provider outage does not take the API down:

- the key set is cached for the provider's `Cache-Control: max-age`, clamped to [min_ttl, max_ttl],
  and revalidated with `If-None-Match`;
- a token naming an unknown `kid` triggers at most one refetch per `cooldown` seconds;
- every request has a timeout; when a refresh fails the cached set keeps serving, and the next
  attempt waits for the cooldown.

This module reads no Django settings: `jwks_client()` builds the process's client from them.
"""

import json
import logging
import re
import threading
import time
from dataclasses import dataclass

import jwt
import requests

log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 512 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    alg: str | None  # the JWK's declared "alg", if any: a token must then use exactly that
    key: object  # a `cryptography` public key


class JWKSError(Exception):
    """Base class of the key-lookup failures."""


class KeysUnavailable(JWKSError):
    """No key set could be fetched and none is cached: nothing can be verified right now."""


class UnknownKey(JWKSError):
    """The key set (cached, or refetched within the cooldown rules) has no usable key with this kid."""


def cache_seconds(cache_control, *, min_ttl, max_ttl):
    """How long to keep a response: its max-age clamped to [min_ttl, max_ttl]; min_ttl if none."""
    cache_control = cache_control or ""
    if _NO_CACHE.search(cache_control):
        return min_ttl
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return min_ttl
    return max(min_ttl, min(max_ttl, int(match.group(1))))


class JWKSClient:
    """Thread-safe: one instance per process, shared by every request thread."""

    def __init__(
        self,
        *,
        issuer,
        discovery_url="",
        algorithms=("RS256",),
        timeout=3.0,
        min_ttl=60,
        max_ttl=3600,
        cooldown=30,
        clock=time.monotonic,
    ):
        self.issuer = issuer.rstrip("/")
        self.discovery_url = discovery_url or self.issuer + DISCOVERY_PATH
        self.algorithms = frozenset(algorithms)
        self.timeout = timeout
        self.min_ttl, self.max_ttl, self.cooldown = min_ttl, max_ttl, cooldown
        self.clock = clock
        self.http = requests.Session()
        self._lock = threading.Lock()
        self._metadata = None
        self._metadata_fresh_until = float("-inf")
        self._keys = None  # kid -> VerificationKey; None until the first successful fetch
        self._etag = None
        self._fresh_until = float("-inf")  # when the cached set must be revalidated
        self._last_forced = float("-inf")  # last refetch caused by an unknown kid
        self._failed_at = float("-inf")  # last failed first fetch (nothing cached yet)

    # --- discovery -------------------------------------------------------------------------

    def _backchannel(self, url):
        """Server-to-server URL for an advertised endpoint.

        With a separate discovery URL (the provider's internal name), endpoints under the public
        issuer are reached through that same internal base; other URLs are used as advertised.
        """
        if not self.discovery_url.endswith(DISCOVERY_PATH):
            return url
        internal = self.discovery_url[: -len(DISCOVERY_PATH)]
        if internal != self.issuer and url.startswith(self.issuer + "/"):
            return internal + url[len(self.issuer) :]
        return url

    def _get_json(self, url, headers=None):
        """GET a JSON object with a timeout and a size cap; returns (response, document or None on 304)."""
        response = self.http.get(url, headers=headers or {}, timeout=self.timeout, stream=True)
        try:
            if response.status_code == 304:
                return response, None
            if response.status_code != 200:
                raise JWKSError(f"{url} answered HTTP {response.status_code}")
            body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
            if len(body) > MAX_DOCUMENT_BYTES:
                raise JWKSError(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
        finally:
            response.close()
        try:
            document = json.loads(body)
        except ValueError as e:
            raise JWKSError(f"{url} did not send JSON") from e
        if not isinstance(document, dict):
            raise JWKSError(f"{url} did not send a JSON object")
        return response, document

    def metadata(self):
        """The provider's discovery document (cached; a stale copy is kept when a refresh fails)."""
        now = self.clock()
        if self._metadata is not None and now < self._metadata_fresh_until:
            return self._metadata
        with self._lock:
            return self._metadata_locked(self.clock())

    def _metadata_locked(self, now):
        if self._metadata is not None and now < self._metadata_fresh_until:
            return self._metadata
        try:
            response, document = self._get_json(self.discovery_url)
        except (requests.RequestException, JWKSError) as e:
            if self._metadata is None:
                raise KeysUnavailable(f"discovery failed: {e}") from e
            log.warning("discovery refresh failed, keeping the cached document: %s", e)
            self._metadata_fresh_until = now + self.cooldown
            return self._metadata
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer we trust.
        if document.get("issuer") != self.issuer:
            raise KeysUnavailable(
                f"discovery at {self.discovery_url} names issuer {document.get('issuer')!r}, "
                f"expected {self.issuer!r}"
            )
        if not isinstance(document.get("jwks_uri"), str):
            raise KeysUnavailable(f"discovery at {self.discovery_url} has no jwks_uri")
        self._metadata = document
        # Discovery rarely changes: keep it as long as the longest key-set lifetime.
        self._metadata_fresh_until = now + self.max_ttl
        return document

    def accepted_algorithms(self, algorithms):
        """RFC 8725 3.1: the algorithms to accept, pinned to what the provider signs with: those of
        `algorithms` (this API's own list) that discovery advertises in
        id_token_signing_alg_values_supported (OIDC Discovery 3; RS256 alone when it is absent).
        A key of an algorithm the provider has stopped advertising then verifies nothing here."""
        advertised = self.metadata().get("id_token_signing_alg_values_supported")
        if not isinstance(advertised, list):
            advertised = ["RS256"]
        return tuple(alg for alg in algorithms if alg in advertised)

    def endpoint(self, name, *, backchannel=False):
        """An endpoint URL from discovery; the internal URL when this process calls it itself."""
        url = self.metadata().get(name)
        if not isinstance(url, str) or not url:
            raise KeysUnavailable(f"discovery does not advertise {name}")
        return self._backchannel(url) if backchannel else url

    # --- key set ---------------------------------------------------------------------------

    def signing_key(self, kid):
        """The verification key named `kid`, refetching the set only as the rules above allow."""
        if not isinstance(kid, str) or not kid:
            raise UnknownKey("the token names no key")
        now = self.clock()
        keys = self._keys
        if keys is None or now >= self._fresh_until:
            keys = self._refresh(lambda: self._keys is None or self.clock() >= self._fresh_until)
        key = keys.get(kid)
        if key is None and now - self._last_forced >= self.cooldown:
            keys = self._refresh(
                lambda: kid not in self._keys and self.clock() - self._last_forced >= self.cooldown,
                forced=True,
            )
            key = keys.get(kid)
        if key is None:
            raise UnknownKey("no published key has this kid")
        return key

    def _refresh(self, still_needed, *, forced=False):
        """Fetch the key set once, under the lock, unless another thread did it meanwhile."""
        with self._lock:
            if self._keys is not None and not still_needed():
                return self._keys
            now = self.clock()
            if self._keys is None and now - self._failed_at < self.cooldown:
                # Nothing to serve and the provider just failed us: answer at once rather than make
                # every request wait for another timeout.
                raise KeysUnavailable("the provider's keys are unavailable; retrying after the cooldown")
            if forced:
                self._last_forced = now
            try:
                jwks_uri = self._backchannel(self._metadata_locked(now)["jwks_uri"])
                headers = {"If-None-Match": self._etag} if self._etag and self._keys is not None else {}
                response, document = self._get_json(jwks_uri, headers)
                if document is not None:
                    self._keys = parse_jwks(document, self.algorithms)
                    self._etag = response.headers.get("ETag")
                self._fresh_until = now + cache_seconds(
                    response.headers.get("Cache-Control"), min_ttl=self.min_ttl, max_ttl=self.max_ttl
                )
            except (requests.RequestException, JWKSError) as e:
                if self._keys is None:
                    self._failed_at = now
                    raise KeysUnavailable(f"the provider's keys are unavailable: {e}") from e
                # Keep serving the keys we have; try again after the cooldown, not on every request.
                log.warning("JWKS refresh failed, keeping the cached key set: %s", e)
                if not forced:
                    self._fresh_until = now + self.cooldown
            return self._keys


def parse_jwks(document, algorithms):
    """The usable public signing keys of a JWKS document, by kid; JWKSError if there are none."""
    keys, duplicates = {}, set()
    for jwk in document.get("keys") if isinstance(document.get("keys"), list) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        # Only public asymmetric signing keys: an "oct" key would turn verification into HMAC.
        if jwk.get("kty") not in ("RSA", "EC", "OKP") or "d" in jwk or jwk.get("use", "sig") != "sig":
            continue
        if "alg" in jwk and jwk["alg"] not in algorithms:
            continue
        try:
            parsed = jwt.PyJWK(jwk)
        except jwt.PyJWTError as e:
            log.warning("skipping unusable key %s: %s", jwk.get("kid"), e)
            continue
        # Named by kid in the log when the set is fetched: jwt.decode's own warning names no key.
        short = getattr(parsed.Algorithm, "check_key_length", lambda key: None)(parsed.key)
        if short:
            log.warning("key %s: %s", jwk["kid"], short)
        if jwk["kid"] in keys:
            duplicates.add(jwk["kid"])
        keys[jwk["kid"]] = VerificationKey(kid=jwk["kid"], alg=jwk.get("alg"), key=parsed.key)
    for kid in duplicates:  # two keys under one kid: which one signed is unknowable, so use neither
        log.warning("ignoring kid %s: the key set has it more than once", kid)
        del keys[kid]
    if not keys:
        raise JWKSError("the key set has no usable signing key")
    return keys


_client = None
_client_lock = threading.Lock()


def jwks_client():
    """The process's client, built from settings on first use."""
    global _client
    if _client is None:
        from django.conf import settings

        with _client_lock:
            if _client is None:
                _client = JWKSClient(
                    issuer=settings.RESOURCE_ISSUER,
                    discovery_url=settings.RESOURCE_DISCOVERY_URL,
                    algorithms=settings.RESOURCE_ALGORITHMS,
                    timeout=settings.RESOURCE_HTTP_TIMEOUT,
                    min_ttl=settings.RESOURCE_JWKS_MIN_TTL,
                    max_ttl=settings.RESOURCE_JWKS_MAX_TTL,
                    cooldown=settings.RESOURCE_JWKS_COOLDOWN,
                )
    return _client
