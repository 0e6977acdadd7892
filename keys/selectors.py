"""Reads of the key ring, cached per process and reloaded when its version changes.

Decrypting and parsing a private key costs tens of milliseconds, so each worker keeps the parsed
keys in memory and only re-reads the ring's version stamp every SIGNET_KEY_RELOAD_SECONDS.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import crypto
from .models import KeyRingLock, SigningKey

State = SigningKey.State
PUBLISHED_STATES = (State.NEXT, State.ACTIVE, State.RETIRED)


def _now():
    return timezone.now()


@dataclass
class LoadedKey:
    kid: str
    alg: str
    state: str
    public_jwk: dict
    retired_at: object
    _ciphertext: str = field(repr=False)
    _private: object = field(default=None, repr=False)
    _signer: object = field(default=None, repr=False)
    _public: object = field(default=None, repr=False)

    @property
    def private_jwk(self):
        if self._private is None:
            self._private = crypto.decrypt_private_key(self._ciphertext)
        return self._private

    @property
    def signer(self):
        """The parsed `cryptography` private key (decrypted on first use, then kept)."""
        if self._signer is None:
            self._signer = crypto.signer_for(self.private_jwk)
        return self._signer

    @property
    def public(self):
        if self._public is None:
            self._public = crypto.public_jwk_object(self.public_jwk)
        return self._public


class _KeyRingCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.version = None
        self.checked_at = 0.0
        self.forced_at = 0.0
        self.keys = {}

    def clear(self):
        with self.lock:
            self.version = None
            self.checked_at = 0.0
            self.forced_at = 0.0
            self.keys = {}


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
            retired_at=row.retired_at,
            _ciphertext=row.encrypted_private_jwk,
        )
    old = _cache.keys
    for kid, key in keys.items():  # keep already-decrypted material across reloads
        if kid in old:
            key._private, key._signer, key._public = old[kid]._private, old[kid]._signer, old[kid]._public
    _cache.keys, _cache.version = keys, version


def _needs_maintenance(keys, now):
    from .services import rotation_due

    active = next((k for k in keys.values() if k.state == State.ACTIVE), None)
    if active is None or not any(k.state == State.NEXT for k in keys.values()):
        return True
    row = SigningKey.objects.filter(kid=active.kid).only("activated_at", "created_at").first()
    nxt = SigningKey.objects.filter(state=State.NEXT).order_by("created_at").first()
    return row is None or rotation_due(row, nxt, now)


def keyring(*, now=None, force=False):
    """The published keys by kid, fresh within SIGNET_KEY_RELOAD_SECONDS of any change."""
    monotonic = time.monotonic()
    if (
        not force
        and _cache.version is not None
        and monotonic - _cache.checked_at < settings.SIGNET_KEY_RELOAD_SECONDS
    ):
        return _cache.keys
    with _cache.lock:
        if (
            not force
            and _cache.version is not None
            and monotonic - _cache.checked_at < settings.SIGNET_KEY_RELOAD_SECONDS
        ):
            return _cache.keys
        version = _ring_version()
        if force or version != _cache.version:
            _load(version)
        if _needs_maintenance(_cache.keys, now or _now()):
            from .services import key_maintain

            key_maintain(now=now)
            _load(_ring_version())
        _cache.checked_at = time.monotonic()
        return _cache.keys


def reset_cache():
    """Forget every cached key (tests, and after operator actions in this process)."""
    _cache.clear()


def active_signing_key(*, now=None):
    """The one key that signs now."""
    for key in keyring(now=now).values():
        if key.state == State.ACTIVE:
            return key
    keys = keyring(now=now, force=True)
    return next(k for k in keys.values() if k.state == State.ACTIVE)


def _still_published(key, now):
    from .services import retention_seconds

    if key.state != State.RETIRED:
        return True
    return key.retired_at is None or now - key.retired_at <= timedelta(seconds=retention_seconds())


def published_keys(*, now=None):
    """Every key a live token may still be verified with, newest state first."""
    now = now or _now()
    order = {State.ACTIVE: 0, State.NEXT: 1, State.RETIRED: 2}
    keys = [k for k in keyring(now=now).values() if _still_published(k, now)]
    return sorted(keys, key=lambda k: (order[k.state], k.kid))


def key_by_kid(kid, *, now=None):
    """A published key by kid; one unknown kid triggers a reload (a rotation elsewhere)."""
    now = now or _now()
    if not isinstance(kid, str):
        return None
    key = keyring(now=now).get(kid)
    if key is None and time.monotonic() - _cache.forced_at >= 1.0:
        # At most one forced reload a second, so a flood of made-up kids cannot hammer the database.
        _cache.forced_at = time.monotonic()
        key = keyring(now=now, force=True).get(kid)
    if key is None or not _still_published(key, now):
        return None
    return key


def jwks_document(*, now=None):
    return {"keys": [k.public_jwk for k in published_keys(now=now)]}
