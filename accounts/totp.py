"""A user's TOTP authenticator (RFC 6238, with pyotp): enrolment, confirmation, verification, removal.

The seed is stored encrypted under the key-encryption key (keys.crypto.encrypt_secret), bound to
the user's id, so a database dump alone yields no seed. A code is accepted within one 30-second step
either side of now, and a step once accepted is never accepted again: the step is recorded with a
conditional UPDATE, so two concurrent submissions of one code cannot both pass (RFC 6238 5.2).
"""

import base64
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from keys import crypto

from .models import TotpDevice

# The time codes are checked against; tests replace it to pin the clock.
clock = time.time

STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # steps either side of now: the phone's clock may be a little off
SEED_BYTES = 20  # 160 bits, RFC 4226 4's recommendation
CODE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the seed in text, its otpauth URI and that URI as an SVG QR code."""

    secret: str
    uri: str
    qr_svg: str

    @property
    def secret_grouped(self):
        """The seed in groups of four, easier to type (apps ignore the spaces)."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def site_name():
    # The issuer label the authenticator app shows next to the code.
    return getattr(settings, "SIGNET_SITE_NAME", "") or "Signet"


def _purpose(user):
    return f"totp:{user.pk}"


def _seed(device):
    return crypto.decrypt_secret(device.secret_encrypted, purpose=_purpose(device.user)).decode("ascii")


def _totp(secret):
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def normalize(code):
    """A code as typed (spaces, a dash) as its digits, or None when it cannot be a code."""
    if not isinstance(code, str):
        return None
    code = re.sub(r"[\s-]", "", code)[:16]
    return code if CODE.match(code) else None


def confirmed_device(user):
    """The user's confirmed authenticator, or None."""
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).select_related("user").first()


def has_totp(user):
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def totp_begin(*, user):
    """A new seed waiting for its first code (an unconfirmed one is reused); None if one is confirmed."""
    device = TotpDevice.objects.filter(user=user).select_related("user").first()
    if device is not None and device.confirmed_at is not None:
        return None
    if device is None:
        secret = base64.b32encode(secrets.token_bytes(SEED_BYTES)).decode("ascii")
        device = TotpDevice.objects.create(
            user=user, secret_encrypted=crypto.encrypt_secret(secret.encode("ascii"), purpose=_purpose(user))
        )
    else:
        secret = _seed(device)
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=site_name())
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, light="#fff", title="QR code")
    return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg)


def _matching_step(secret, code, now):
    """The time step `code` belongs to within the window around `now`, or None."""
    totp = _totp(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def _accept(device, code, *, confirming):
    code = normalize(code)
    if code is None:
        return False
    now = clock()
    step = _matching_step(_seed(device), code, now)
    if step is None:
        return False
    # The conditional UPDATE is the check: of two requests with one code, one row count is 0.
    fresh = Q(last_used_step__isnull=True) | Q(last_used_step__lt=step)
    changes = {"last_used_step": step, "last_used_at": timezone.now()}
    if confirming:
        changes["confirmed_at"] = timezone.now()
    return TotpDevice.objects.filter(fresh, pk=device.pk).update(**changes) == 1


def totp_confirm(*, user, code):
    """Confirm the user's new authenticator with its first code. True when it is now confirmed."""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).select_related("user").first()
    return device is not None and _accept(device, code, confirming=True)


def totp_verify(*, user, code):
    """Whether `code` is a current, never used code of the user's confirmed authenticator."""
    device = confirmed_device(user)
    return device is not None and _accept(device, code, confirming=False)


def totp_remove(*, user):
    """Remove the user's authenticator (confirmed or not). True when there was a confirmed one."""
    confirmed = has_totp(user)
    TotpDevice.objects.filter(user=user).delete()
    return confirmed
