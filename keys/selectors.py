"""Reads of the key ring, cached per process and reloaded when its version changes.

Decrypting and parsing a private key costs tens of milliseconds, so each process keeps the parsed
keys in memory (decrypted on first use, once per key) and only re-reads the ring's version stamp
every SIGNET_KEY_RELOAD_SECONDS. A rotation anywhere bumps that stamp, so every worker of every
instance signs with the new key within SIGNET_KEY_RELOAD_SECONDS.

Reads never write: no key is created, rotated or purged, no audit row stored and no lock taken, so
a request's transaction holds nothing of the key ring's. When this process's view of the ring says
the schedule has work, the same check wakes keys.maintenance, which does it in a thread of its own.

A key is published, verifies tokens and signs only once its private half has decrypted under the
key-encryption key and matched its public half, checked once per key per process: a row someone wrote
straight into the database, without that key, publishes nothing (see LoadedKey.trusted).
"""

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from . import clock, crypto, maintenance
from .models import KeyRingLock, SigningKey

log = logging.getLogger("signet.keys")
State = SigningKey.State
PUBLISHED_STATES = (State.NEXT, State.ACTIVE, State.RETIRED)
# An unknown kid forces a reload at most this often, so made-up kids cannot hammer the database.
FORCED_RELOAD_INTERVAL = 1.0
# "Never checked" on the monotonic clock, whose zero is arbitrary (often the boot time).
NEVER = float("-inf")


class NoActiveKey(RuntimeError):
    """The key ring has no usable active key: nothing can be signed until maintenance makes one."""


@dataclass
class LoadedKey:
    """A published key as this process holds it; the private half is decrypted on first use only."""

    kid: str
    alg: str
    state: str
    public_jwk: dict
    created_at: object
    activated_at: object
    retired_at: object
    retain_until: object
    _ciphertext: str = field(repr=False)
    _private: object = field(default=None, repr=False)
    _signer: object = field(default=None, repr=False)
    _public: object = field(default=None, repr=False)
    _verifier: object = field(default=None, repr=False)
    _trusted: bool | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def private_jwk(self):
        """The decrypted private jwcrypto JWK (DOT signs ID tokens with it).

        Raises crypto.KeyDecryptionError if it does not open or is not this key's private half.
        """
        if self._private is None:
            with self._lock:  # two threads asking at once still decrypt once
                if self._private is None:
                    self._private = crypto.decrypt_private_key(
                        self._ciphertext, kid=self.kid, public_jwk=self.public_jwk
                    )
        return self._private

    @property
    def trusted(self):
        """Whether this row's private half opens under the key-encryption key and matches its public
        half. Database write access without that key can insert or alter rows, not pass this. Decided
        once per key per process; a failure is logged then, audited by the next maintenance step (not
        inside the request that noticed it), and the key left out."""
        if self._trusted is None:
            try:
                verdict, reason = self.private_jwk is not None, None
            except crypto.KeyDecryptionError as e:
                verdict, reason = False, str(e)
            with self._lock:
                first = self._trusted is None
                if first:
                    self._trusted = verdict
            if first and not verdict:
                log.error("signing key %s left out of the key ring: %s", self.kid, reason)
                maintenance.defer_audit("key.untrusted", kid=self.kid, state=self.state, reason=reason)
        return self._trusted

    @property
    def signer(self):
        """The parsed `cryptography` private key (decrypted on first use, then kept)."""
        if self._signer is None:
            private = self.private_jwk
            with self._lock:
                if self._signer is None:
                    self._signer = crypto.signer_for(private)
        return self._signer

    @property
    def public(self):
        """The public jwcrypto JWK, for verifying."""
        if self._public is None:
            with self._lock:
                if self._public is None:
                    self._public = crypto.public_jwk_object(self.public_jwk)
        return self._public

    @property
    def verifier(self):
        """The parsed `cryptography` public key, for verifying without jwcrypto's per-call cost."""
        if self._verifier is None:
            public = self.public
            with self._lock:
                if self._verifier is None:
                    self._verifier = crypto.verifier_for(public)
        return self._verifier

    def published_at(self, now):
        """Next and active keys are published; a retired key until its tokens have all expired."""
        return self.state != State.RETIRED or self.retain_until is None or now <= self.retain_until

    def carry_material_from(self, other):
        """Keep what another copy of this key already decrypted, parsed and decided (a reload is not a
        rekey), unless the row's key material changed: then it is checked again."""
        if (self.public_jwk, self._ciphertext) != (other.public_jwk, other._ciphertext):
            return
        self._private, self._signer, self._public = other._private, other._signer, other._public
        self._verifier = other._verifier
        self._trusted = other._trusted


class _KeyRingCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self.version = None
        self.checked_at = NEVER
        self.forced_at = NEVER
        self.keys = {}

    def fresh(self):
        return (
            self.version is not None
            and time.monotonic() - self.checked_at < settings.SIGNET_KEY_RELOAD_SECONDS
        )


_cache = _KeyRingCache()


def _ring_version():
    return KeyRingLock.objects.filter(pk=1).values_list("version", flat=True).first()


def _load(version):
    keys = {}
    for row in SigningKey.objects.filter(state__in=PUBLISHED_STATES):
        keys[row.kid] = LoadedKey(
            kid=row.kid,
            alg=row.alg,
            state=row.state,
            public_jwk=row.public_jwk,
            created_at=row.created_at,
            activated_at=row.activated_at,
            retired_at=row.retired_at,
            retain_until=row.retain_until,
            _ciphertext=row.encrypted_private_jwk,
        )
        if row.kid in _cache.keys:
            keys[row.kid].carry_material_from(_cache.keys[row.kid])
    _cache.keys, _cache.version = keys, version


def _needs_maintenance(keys, now):
    """Whether this process's view of the ring says the schedule has work (decided without queries)."""
    from .services import configured_algs, rotation_due

    configured = configured_algs()
    for alg in configured:
        active = next((k for k in keys.values() if k.state == State.ACTIVE and k.alg == alg), None)
        nexts = sorted(
            (k for k in keys.values() if k.state == State.NEXT and k.alg == alg), key=lambda k: k.created_at
        )
        if active is None or not nexts:
            return True
        if rotation_due(active, nexts[0], now):
            return True
    for key in keys.values():
        if key.state in (State.ACTIVE, State.NEXT) and key.alg not in configured:
            return True  # an algorithm taken out of SIGNET_SIGNING_ALGS: its keys are withdrawn
    return any(not k.published_at(now) for k in keys.values())  # a retired key is due for purging


def keyring(*, now=None, force=False):
    """The published keys by kid, fresh within SIGNET_KEY_RELOAD_SECONDS of any change. Read-only."""
    if not force and _cache.fresh():
        return _cache.keys
    with _cache.lock:
        if not force and _cache.fresh():
            return _cache.keys
        version = _ring_version()
        if force or version != _cache.version:
            _load(version)
        if _needs_maintenance(_cache.keys, now or clock.now()):
            # Signing goes on with the current key meanwhile: a rotation a moment late is harmless,
            # and a ring without an active key answers NoActiveKey until the step has made one.
            maintenance.wake()
        _cache.checked_at = time.monotonic()
        return _cache.keys


def reset_cache():
    """Forget every cached key, decrypted material included, and maintenance's pending work (tests)."""
    with _cache.lock:
        _cache.clear()
    maintenance.reset()


def invalidate():
    """Re-read the ring's version on the next use (after an operator action in this process).

    Unlike reset_cache(), keys that are still published keep their decrypted material.
    """
    _cache.checked_at = NEVER


def active_signing_key(*, now=None, alg="RS256"):
    """The one key of `alg` that signs now (never one that failed LoadedKey.trusted).

    Raises NoActiveKey when there is none: reads never create one (keys.maintenance does).
    """
    for key in keyring(now=now).values():
        if key.state == State.ACTIVE and key.alg == alg and key.trusted:
            return key
    for key in keyring(now=now, force=True).values():
        if key.state == State.ACTIVE and key.alg == alg and key.trusted:
            return key
    raise NoActiveKey(f"the key ring has no usable active signing key for {alg}")


def published_keys(*, now=None):
    """Every key a live token may still be verified with: active, then next, then retired."""
    now = now or clock.now()
    order = {State.ACTIVE: 0, State.NEXT: 1, State.RETIRED: 2}
    keys = [k for k in keyring(now=now).values() if k.published_at(now) and k.trusted]
    algs = {alg: i for i, alg in enumerate(crypto.SUPPORTED_ALGS)}
    return sorted(keys, key=lambda k: (algs.get(k.alg, len(algs)), order[k.state], k.kid))


def key_by_kid(kid, *, now=None):
    """A published key by kid, or None; an unknown kid triggers one reload (a rotation elsewhere)."""
    now = now or clock.now()
    if not isinstance(kid, str) or not kid:
        return None
    key = keyring(now=now).get(kid)
    if key is None and time.monotonic() - _cache.forced_at >= FORCED_RELOAD_INTERVAL:
        _cache.forced_at = time.monotonic()
        key = keyring(now=now, force=True).get(kid)
    if key is None or not key.published_at(now) or not key.trusted:
        return None
    return key


def jwks_document(*, now=None):
    """The JWK Set (RFC 7517 5): public members of every published key."""
    return {"keys": [dict(k.public_jwk) for k in published_keys(now=now)]}
