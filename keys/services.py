"""The rotation state machine: next → active → retired (→ purged), and revoked for emergencies.

Every change takes the key ring's row lock first, so rotations from several workers or instances
run one after the other, and bumps the ring's version so every worker reloads within
SIGNET_KEY_RELOAD_SECONDS. Every decision is re-made under the lock: whoever waited for it sees
what the previous holder did.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from provider.audit import audit

from . import clock, crypto
from .models import KeyRingLock, SigningKey

log = logging.getLogger("signet.keys")
State = SigningKey.State


class KeyNotFound(LookupError):
    """No signing key has this kid."""


def _lock_ring():
    """Lock the key ring (one row) until this transaction ends."""
    ring, _ = KeyRingLock.objects.select_for_update().get_or_create(pk=1)
    return ring


def _bump(ring):
    """Tell every worker the ring changed (they compare this version every SIGNET_KEY_RELOAD_SECONDS)."""
    ring.version += 1
    ring.save(update_fields=["version"])


def _longest_client_lifetime():
    """The longest per-client access- or ID-token lifetime override, 0 if none.

    Looked up through the app registry so keys/ does not import the OAuth layer.
    """
    try:
        client_model = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    except (AttributeError, LookupError, ValueError):
        return 0
    names = {f.name for f in client_model._meta.get_fields()}
    fields = [f for f in ("access_token_lifetime", "id_token_lifetime") if f in names]
    if not fields:
        return 0
    longest = client_model.objects.aggregate(**{f: Max(f) for f in fields})
    return max((v or 0) for v in longest.values())


def retention_seconds():
    """How long a retired key stays published: the longest-lived token it may have signed, plus the
    time other workers may still sign with it before they notice the rotation, plus leeway."""
    return (
        max(
            settings.SIGNET_ACCESS_TOKEN_LIFETIME,
            settings.SIGNET_ID_TOKEN_LIFETIME,
            _longest_client_lifetime(),
        )
        + settings.SIGNET_KEY_RELOAD_SECONDS
        + settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS
    )


def configured_algs():
    """The algorithms the ring keeps an active and a next key for (SIGNET_SIGNING_ALGS, RS256 first)."""
    return settings.SIGNET_SIGNING_ALGS


def _require_configured(alg):
    if alg not in configured_algs():
        raise ValueError(f"{alg} is not in SIGNET_SIGNING_ALGS ({', '.join(configured_algs())})")


def _create(*, state, now, size=None, alg="RS256"):
    kid, public, private, size = crypto.generate_key(alg, size=size or settings.SIGNET_KEY_SIZE)
    key = SigningKey.objects.create(
        kid=kid,
        alg=alg,
        size=size,
        state=state,
        public_jwk=public,
        encrypted_private_jwk=crypto.encrypt_private_key(private, kid=kid),
        created_at=now,
        activated_at=now if state == State.ACTIVE else None,
    )
    audit("key.created", kid=kid, alg=alg, state=state, size=size)
    return key


def _activate(key, now):
    key.state = State.ACTIVE
    key.activated_at = now
    key.save(update_fields=["state", "activated_at", "updated_at"])


def _retire(key, now):
    key.state = State.RETIRED
    key.retired_at = now
    key.retain_until = now + timedelta(seconds=retention_seconds())
    key.save(update_fields=["state", "retired_at", "retain_until", "updated_at"])


def _active(alg):
    return SigningKey.objects.filter(state=State.ACTIVE, alg=alg).first()


def _opens(key):
    """Whether a row's private half opens under the key-encryption key and matches its public half."""
    try:
        crypto.decrypt_private_key(key.encrypted_private_jwk, kid=key.kid, public_jwk=key.public_jwk)
    except crypto.KeyDecryptionError as e:
        log.error("signing key %s cannot be promoted: %s", key.kid, e)
        audit("key.untrusted", kid=key.kid, state=key.state, reason=str(e))
        return False
    return True


def _oldest_next(alg):
    """The next key of `alg` published longest: what the schedule times its rotation by (no decryption)."""
    return SigningKey.objects.filter(state=State.NEXT, alg=alg).order_by("created_at").first()


def _successor(alg):
    """The oldest next key of `alg` that is really ours, to promote; None if there is none.

    A next row written into the database by someone without the key-encryption key is published by
    no worker (selectors.LoadedKey.trusted), and must not sign either: it is passed over, left for
    the operator (`manage.py check --database default` names it).
    """
    for key in SigningKey.objects.filter(state=State.NEXT, alg=alg).order_by("created_at"):
        if _opens(key):
            return key
    return None


@transaction.atomic
def key_create(*, state=State.NEXT, size=None, now=None, alg="RS256"):
    """Create a key of `alg`; an active one only when that algorithm has none."""
    now = now or clock.now()
    _require_configured(alg)
    ring = _lock_ring()
    if state not in (State.NEXT, State.ACTIVE):
        raise ValueError("new keys are next or active")
    if state == State.ACTIVE and _active(alg) is not None:
        raise ValueError(f"there is already an active key for {alg}: rotate instead")
    key = _create(state=state, now=now, size=size, alg=alg)
    _bump(ring)
    return key


def _ensure_alg(now, alg):
    """Under the lock: `alg` has an active key and a pre-published next key. Returns (active, changed)."""
    changed = False
    active = _active(alg)
    if active is None:
        # First start, or every key was revoked: the pre-published next key is the best successor,
        # since relying parties may already hold it.
        active = _successor(alg)
        if active is not None:
            _activate(active, now)
        else:
            active = _create(state=State.ACTIVE, now=now, alg=alg)
        audit("key.activated", kid=active.kid, alg=alg)
        changed = True
    if _successor(alg) is None:
        _create(state=State.NEXT, now=now, alg=alg)
        changed = True
    return active, changed


def _ensure(now):
    """Under the lock: every configured algorithm has an active and a next key; the keys of an
    algorithm no longer configured stop signing (see _withdraw_unconfigured). Returns
    ({alg: active}, changed)."""
    actives, changed = {}, _withdraw_unconfigured(now)
    for alg in configured_algs():
        actives[alg], created = _ensure_alg(now, alg)
        changed = changed or created
    return actives, changed


def _withdraw_unconfigured(now):
    """An algorithm taken out of SIGNET_SIGNING_ALGS: its active key retires (published until its
    tokens expire, like any retired key) and its next keys, which never signed, go at once."""
    configured = configured_algs()
    changed = False
    for key in SigningKey.objects.filter(state=State.ACTIVE).exclude(alg__in=configured):
        _retire(key, now)
        audit("key.retired", kid=key.kid, alg=key.alg, reason="algorithm no longer configured")
        changed = True
    unused = SigningKey.objects.filter(state=State.NEXT).exclude(alg__in=configured)
    if kids := list(unused.values_list("kid", flat=True)):
        unused.delete()
        audit("key.purged", kids=kids, reason="algorithm no longer configured")
        changed = True
    return changed


@transaction.atomic
def key_ensure_active(*, now=None, alg="RS256"):
    """Make sure every configured algorithm has an active key and a pre-published next key (first
    start, or after revokes). Returns the active key of `alg`."""
    now = now or clock.now()
    _require_configured(alg)
    ring = _lock_ring()
    actives, changed = _ensure(now)
    if changed:
        _bump(ring)
    return actives[alg]


def rotation_due(active, nxt, now):
    """A scheduled rotation is due when the active key has signed for SIGNET_KEY_ROTATION_DAYS and the
    next key has been published for SIGNET_KEY_PREPUBLISH_SECONDS (so every JWKS cache holds it).

    `active` and `nxt` are anything with the SigningKey timestamps (rows or cached keys).
    """
    if active is None:
        return True
    if nxt is None:
        return False  # publish a next key first; the schedule waits for it
    age_limit = (active.activated_at or active.created_at) + timedelta(days=settings.SIGNET_KEY_ROTATION_DAYS)
    if now < age_limit:
        return False
    return now - nxt.created_at >= timedelta(seconds=settings.SIGNET_KEY_PREPUBLISH_SECONDS)


@dataclass(frozen=True)
class Rotation:
    rotated: bool
    active: SigningKey
    retired: SigningKey | None = None
    # How long the newly active key had been in the JWKS before it started signing.
    prepublished_seconds: float | None = None

    @property
    def alg(self):
        return self.active.alg


def _rotate(now, actor=None, alg="RS256"):
    """Under the lock: promote the oldest next key of `alg` (or a new one), retire its active key,
    publish a new next key. Keys of other algorithms are not touched."""
    active = _active(alg)
    nxt = _successor(alg)
    if active is not None:
        # Retire first: the partial unique index allows one active row at a time.
        _retire(active, now)
    prepublished = (now - nxt.created_at).total_seconds() if nxt is not None else 0.0
    if nxt is None:
        nxt = _create(state=State.ACTIVE, now=now, alg=alg)
    else:
        _activate(nxt, now)
    _create(state=State.NEXT, now=now, alg=alg)
    audit("key.rotated", actor=actor, alg=alg, kid=nxt.kid, retired_kid=active.kid if active else None)
    log.info("%s signing key rotated: %s now signs", alg, nxt.kid)
    return Rotation(rotated=True, active=nxt, retired=active, prepublished_seconds=prepublished)


@transaction.atomic
def key_rotate(*, if_due=False, now=None, actor=None, alg="RS256"):
    """Promote the next key of `alg`, retire its active one, and publish a new next key.

    With if_due, only when rotation_due() says so; otherwise at once, even if the next key has been
    published for less than SIGNET_KEY_PREPUBLISH_SECONDS (an operator's decision: see Rotation).
    """
    now = now or clock.now()
    _require_configured(alg)
    ring = _lock_ring()
    if if_due:
        active, changed = _ensure_alg(now, alg)
        if not rotation_due(active, _oldest_next(alg), now):
            if changed:
                _bump(ring)
            return Rotation(rotated=False, active=active)
    rotation = _rotate(now, actor, alg)
    _bump(ring)
    return rotation


@transaction.atomic
def key_revoke(*, kid, now=None, actor=None):
    """Withdraw a key from the JWKS at once; if it was signing, a brand-new key takes over.

    Raises KeyNotFound for an unknown kid. Revoking a revoked key changes nothing.
    """
    now = now or clock.now()
    ring = _lock_ring()
    key = SigningKey.objects.filter(kid=kid).first()
    if key is None:
        raise KeyNotFound(kid)
    if key.state == State.REVOKED:
        return key
    was_active = key.state == State.ACTIVE
    alg = key.alg
    key.state = State.REVOKED
    key.revoked_at = now
    # A revoked key never signs or verifies again: drop its private half.
    key.encrypted_private_jwk = ""
    key.save(update_fields=["state", "revoked_at", "encrypted_private_jwk", "updated_at"])
    # After a leak the cause is unknown and the next key's ciphertext sits in the same table: sign
    # with a key that did not exist before the revocation. (Revoking the last key of an algorithm
    # no longer configured leaves that algorithm without keys, as it should.)
    if was_active and alg in configured_algs():
        _create(state=State.ACTIVE, now=now, alg=alg)
    if alg in configured_algs() and _successor(alg) is None:
        _create(state=State.NEXT, now=now, alg=alg)
    _bump(ring)
    audit("key.revoked", actor=actor, kid=kid, was_active=was_active)
    log.warning("signing key revoked: %s", kid)
    return key


def _purge(now):
    expired = SigningKey.objects.filter(state=State.RETIRED, retain_until__lt=now)
    kids = list(expired.values_list("kid", flat=True))
    if kids:
        SigningKey.objects.filter(kid__in=kids).delete()
        audit("key.purged", kids=kids)
    return len(kids)


@transaction.atomic
def key_purge_expired(*, now=None):
    """Delete retired keys that no unexpired token can still be verified with. Returns how many."""
    now = now or clock.now()
    if not SigningKey.objects.filter(state=State.RETIRED, retain_until__lt=now).exists():
        return 0  # the common case takes no lock
    ring = _lock_ring()
    count = _purge(now)
    if count:
        _bump(ring)
    return count


@transaction.atomic
def key_maintain_all(*, now=None):
    """The schedule, in one locked transaction, for every configured algorithm on its own: an active
    and a next key exist, a due rotation happens; then expired retired keys go. Returns
    {alg: Rotation}. keys.maintenance (woken by reads, never inside a request's transaction) and
    `keys rotate --if-due` (container start, cron) run this."""
    now = now or clock.now()
    ring = _lock_ring()
    actives, changed = _ensure(now)
    rotations = {}
    for alg, active in actives.items():
        rotations[alg] = Rotation(rotated=False, active=active)
        if rotation_due(active, _oldest_next(alg), now):
            rotations[alg] = _rotate(now, alg=alg)
            changed = True
    if _purge(now):
        changed = True
    if changed:
        _bump(ring)
    return rotations


def key_maintain(*, now=None):
    """key_maintain_all; returns the RS256 Rotation (the algorithm every deployment has)."""
    return key_maintain_all(now=now)["RS256"]


@transaction.atomic
def key_reencrypt_all():
    """Re-encrypt every private key under the current key-encryption key and in the current format
    (after rotating the key-encryption key, or upgrading from a passphrase)."""
    ring = _lock_ring()
    count = 0
    for key in SigningKey.objects.exclude(encrypted_private_jwk=""):
        # A row that does not open, or is not its public key's private half, stops the whole run.
        opened = crypto.open_private_key(key.encrypted_private_jwk, kid=key.kid, public_jwk=key.public_jwk)
        if opened.current:
            continue
        key.encrypted_private_jwk = crypto.encrypt_private_key(opened.private, kid=key.kid)
        key.save(update_fields=["encrypted_private_jwk", "updated_at"])
        count += 1
    if count:
        _bump(ring)
        audit("key.reencrypted", count=count)
    return count
