"""The rotation state machine: next → active → retired (→ purged), and revoked for emergencies.

Every change takes the key ring's row lock first, so rotations from several workers or instances
run one after the other, and bumps the ring's version so every worker reloads within
SIGNET_KEY_RELOAD_SECONDS.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import crypto
from .models import KeyRingLock, SigningKey

log = logging.getLogger("signet.keys")
State = SigningKey.State


def _now():
    return timezone.now()


def _lock_ring():
    """Lock the key ring (one row) for this transaction and bump its version."""
    ring, _ = KeyRingLock.objects.get_or_create(pk=1)
    ring = KeyRingLock.objects.select_for_update().get(pk=1)
    ring.version += 1
    ring.save(update_fields=["version"])
    return ring


def retention_seconds():
    """How long a retired key stays published: the longest token it may have signed, plus leeway."""
    return (
        max(settings.SIGNET_ACCESS_TOKEN_LIFETIME, settings.SIGNET_ID_TOKEN_LIFETIME)
        + settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS
    )


def _create(*, state, now, size=None):
    kid, public, private = crypto.generate_rsa_key(size or settings.SIGNET_KEY_SIZE)
    return SigningKey.objects.create(
        kid=kid,
        alg="RS256",
        size=size or settings.SIGNET_KEY_SIZE,
        state=state,
        public_jwk=public,
        encrypted_private_jwk=crypto.encrypt_private_key(private),
        created_at=now,
        activated_at=now if state == State.ACTIVE else None,
    )


@transaction.atomic
def key_create(*, state=State.NEXT, size=None, now=None):
    """Create a key; an active one only when there is none."""
    now = now or _now()
    _lock_ring()
    if state == State.ACTIVE and SigningKey.objects.filter(state=State.ACTIVE).exists():
        raise ValueError("there is already an active key: rotate instead")
    return _create(state=state, now=now, size=size)


@transaction.atomic
def key_ensure_active(*, now=None):
    """Make sure an active key and a pre-published next key exist (first start, or after revokes)."""
    now = now or _now()
    _lock_ring()
    active = SigningKey.objects.filter(state=State.ACTIVE).first()
    if active is None:
        nxt = SigningKey.objects.filter(state=State.NEXT).order_by("created_at").first()
        if nxt is not None:
            _activate(nxt, now)
            active = nxt
        else:
            active = _create(state=State.ACTIVE, now=now)
            log.info("signing key created", extra={"event": "key.created", "kid": active.kid})
    if not SigningKey.objects.filter(state=State.NEXT).exists():
        _create(state=State.NEXT, now=now)
    return active


def _activate(key, now):
    key.state = State.ACTIVE
    key.activated_at = now
    key.save(update_fields=["state", "activated_at", "updated_at"])


def rotation_due(active, nxt, now):
    """A scheduled rotation is due when the active key is old enough and the next key has been
    published for at least SIGNET_KEY_PREPUBLISH_SECONDS (so every JWKS cache already holds it)."""
    if active is None:
        return True
    age_limit = (active.activated_at or active.created_at) + timedelta(days=settings.SIGNET_KEY_ROTATION_DAYS)
    if now < age_limit:
        return False
    return nxt is None or now - nxt.created_at >= timedelta(seconds=settings.SIGNET_KEY_PREPUBLISH_SECONDS)


@dataclass(frozen=True)
class Rotation:
    rotated: bool
    active: SigningKey
    retired: SigningKey | None = None


@transaction.atomic
def key_rotate(*, if_due=False, now=None):
    """Promote the next key, retire the active one, and publish a new next key."""
    now = now or _now()
    _lock_ring()
    active = SigningKey.objects.filter(state=State.ACTIVE).first()
    nxt = SigningKey.objects.filter(state=State.NEXT).order_by("created_at").first()
    if if_due and not rotation_due(active, nxt, now):
        return Rotation(rotated=False, active=active)
    if active is not None:
        # Retire first: the partial unique index allows one active row at a time.
        active.state = State.RETIRED
        active.retired_at = now
        active.save(update_fields=["state", "retired_at", "updated_at"])
    if nxt is None:
        nxt = _create(state=State.ACTIVE, now=now)
    else:
        _activate(nxt, now)
    _create(state=State.NEXT, now=now)
    log.info(
        "signing key rotated",
        extra={"event": "key.rotated", "kid": nxt.kid, "retired_kid": active.kid if active else None},
    )
    return Rotation(rotated=True, active=nxt, retired=active)


@transaction.atomic
def key_revoke(*, kid, now=None):
    """Withdraw a key from the JWKS at once; if it was signing, a fresh key takes over."""
    now = now or _now()
    _lock_ring()
    key = SigningKey.objects.select_for_update().get(kid=kid)
    if key.state == State.REVOKED:
        return key
    was_active = key.state == State.ACTIVE
    key.state = State.REVOKED
    key.revoked_at = now
    # A revoked key never signs or verifies again: drop its private half.
    key.encrypted_private_jwk = ""
    key.save(update_fields=["state", "revoked_at", "encrypted_private_jwk", "updated_at"])
    if was_active:
        # After a leak the pre-published next key may be exposed too: sign with a brand-new key.
        _create(state=State.ACTIVE, now=now)
    if not SigningKey.objects.filter(state=State.NEXT).exists():
        _create(state=State.NEXT, now=now)
    log.warning("signing key revoked", extra={"event": "key.revoked", "kid": kid})
    return key


@transaction.atomic
def key_purge_expired(*, now=None):
    """Delete retired keys that no unexpired token can still be verified with."""
    now = now or _now()
    cutoff = now - timedelta(seconds=retention_seconds())
    expired = SigningKey.objects.filter(state=State.RETIRED, retired_at__lt=cutoff)
    if not expired.exists():
        return 0
    _lock_ring()
    count, _ = expired.delete()
    log.info("retired signing keys purged", extra={"event": "key.purged", "count": count})
    return count


def key_maintain(*, now=None):
    """The lazy schedule: an active key exists, a due rotation happens, expired keys go."""
    now = now or _now()
    key_ensure_active(now=now)
    rotation = key_rotate(if_due=True, now=now)
    key_purge_expired(now=now)
    return rotation


@transaction.atomic
def key_reencrypt_all():
    """Re-encrypt every private key under the current key-encryption key (after rotating it)."""
    _lock_ring()
    count = 0
    for key in SigningKey.objects.select_for_update().exclude(encrypted_private_jwk=""):
        if crypto.encrypted_with_current_kek(key.encrypted_private_jwk):
            continue
        private = crypto.decrypt_private_key(key.encrypted_private_jwk)
        key.encrypted_private_jwk = crypto.encrypt_private_key(private)
        key.save(update_fields=["encrypted_private_jwk", "updated_at"])
        count += 1
    return count
