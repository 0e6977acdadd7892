"""Device authorization (RFC 8628): the user-code rules, and starting, finding, deciding and taking a request.

The device code is a bearer secret (it alone obtains the tokens): high entropy, stored as its
SHA-256 checksum. The user code is typed by a person: 8 letters from an alphabet without vowels
(no words) and without letters mistaken for digits, shown as XXXX-XXXX and matched whatever the
case and dashes (RFC 8628 6.1).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from provider.audit import audit

from . import refresh
from .consent import consent_record
from .models import DeviceAuthorization

# RFC 8628 6.1: case-insensitive, no vowels (no words), nothing that reads as a digit; 20^8 ≈ 2^34.5.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# RFC 8628 3.5: each slow_down adds 5 seconds to the interval.
SLOW_DOWN_SECONDS = 5
# A new user code that collides with a stored one is drawn again, this many times at most.
_ATTEMPTS = 5


def clock():
    """Now; tests replace it to poll faster or later than real time allows."""
    return timezone.now()


def user_code_generate():
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def user_code_normalize(raw):
    """The stored form of a typed code (upper case, no dashes or spaces), or None if it cannot be one."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    code = "".join(raw.split()).replace("-", "").upper()
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def user_code_display(code):
    """XXXX-XXXX: two groups a person can read and type (RFC 8628 6.1)."""
    return f"{code[:4]}-{code[4:]}"


def device_code_generate():
    return secrets.token_urlsafe(32)  # 256 bits


def device_authorization_start(*, client, scopes, resources, now=None):
    """Record a new request; returns (device code, row). The device code is shown only now."""
    now = now or clock()
    device_code = device_code_generate()
    for attempt in range(_ATTEMPTS):
        row = DeviceAuthorization(
            client=client,
            device_code_checksum=refresh.checksum(device_code),
            user_code=user_code_generate(),
            scope=" ".join(scopes),
            resource=list(resources),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.SIGNET_DEVICE_CODE_LIFETIME),
            interval=settings.SIGNET_DEVICE_CODE_INTERVAL,
        )
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        return device_code, row
    raise AssertionError("unreachable")


def device_authorization_pending(user_code, *, now=None):
    """The pending, unexpired request a typed user code names (with its client), or None."""
    code = user_code_normalize(user_code)
    if code is None:
        return None
    return (
        DeviceAuthorization.objects.select_related("client")
        .filter(
            user_code=code,
            status=DeviceAuthorization.PENDING,
            expires_at__gt=now or clock(),
            client__is_active=True,
        )
        .first()
    )


@transaction.atomic
def device_authorization_decide(*, row, user, approve, auth_time=None, sid="", acr="", amr=(), now=None):
    """Record the user's answer to a pending request; False when it was no longer pending or had expired.

    One conditional UPDATE: of two answers sent at once (two tabs), the first counts. An approval is
    remembered as consent, so the device is listed among the user's allowed apps and can be revoked there.
    """
    now = now or clock()
    changes = {
        "status": DeviceAuthorization.APPROVED if approve else DeviceAuthorization.DENIED,
        "user": user,
    }
    if approve:
        changes.update(auth_time=auth_time, sid=sid or "", acr=acr or "", amr=list(amr or ()))
    decided = DeviceAuthorization.objects.filter(
        pk=row.pk, status=DeviceAuthorization.PENDING, expires_at__gt=now
    ).update(**changes)
    if decided and approve:
        consent_record(user=user, client=row.client, scopes=row.scope_list)
    if decided:
        event = "device.approved" if approve else "device.denied"
        audit(event, actor=user.pk, client_id=row.client.client_id, scope=row.scope)
    return bool(decided)


def device_authorization_take(device_code):
    """The request a device code names, its row locked until the end of this transaction; or None.

    Of N polls of one approved code at once, one holds the lock and marks it used; the others read
    it used once the lock is released (RFC 8628 3.5: tokens are issued once).
    """
    return (
        DeviceAuthorization.objects.select_for_update(of=("self",))
        .filter(device_code_checksum=refresh.checksum(device_code))
        .first()
    )


def device_authorization_polled(row, *, now):
    """Record a poll of a pending request; True when it came sooner than the interval allows.

    RFC 8628 3.5: a client polling too fast is told slow_down, and its interval grows by 5 seconds
    for this and every later poll.
    """
    too_soon = row.last_polled_at is not None and now < row.last_polled_at + timedelta(seconds=row.interval)
    if too_soon:
        row.interval += SLOW_DOWN_SECONDS
    row.last_polled_at = now
    row.save(update_fields=["interval", "last_polled_at"])
    return too_soon


def device_authorization_use(row):
    """Mark an approved request used: its device code obtains tokens once."""
    row.status = DeviceAuthorization.USED
    row.save(update_fields=["status"])
