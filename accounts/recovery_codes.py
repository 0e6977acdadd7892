"""Recovery codes: ten one-time codes that stand in for a lost second factor.

Stored as HMAC-SHA256 under a key derived from SECRET_KEY (salted_hmac), not with the password
hasher: each code carries 79 random bits, so a slow hash would add nothing against guessing, and a
database dump without SECRET_KEY cannot even be tested against. SECRET_KEY_FALLBACKS are tried on
the way in, so rotating SECRET_KEY does not void the codes users printed.
"""

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import RecoveryCode

COUNT = 10
# Letters and digits without look-alikes (0/o, 1/l/i): 16 of these 31 characters carry 79 bits.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUP = 4
LENGTH = 16
KEY_SALT = "signet.accounts.recovery-code"


def _normalize(code):
    if not isinstance(code, str):
        return None
    code = "".join(c for c in code.lower() if c.isalnum())[: LENGTH + 1]
    return code if len(code) == LENGTH and all(c in ALPHABET for c in code) else None


def _hash(code, secret):
    return salted_hmac(KEY_SALT, code, secret=secret, algorithm="sha256").hexdigest()


def _new_code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def remaining(user):
    """How many unused codes the user has."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def recovery_codes_generate(*, user):
    """Replace the user's codes with ten new ones; the plaintext is returned once, to be shown once."""
    codes = [_new_code() for _ in range(COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=_hash(_normalize(code), settings.SECRET_KEY)) for code in codes
        )
    return codes


def recovery_codes_delete(*, user):
    RecoveryCode.objects.filter(user=user).delete()


def recovery_code_use(*, user, code):
    """Spend one of the user's unused codes. True when `code` was one; it never works again."""
    code = _normalize(code)
    if code is None:
        return False
    hashes = [_hash(code, key) for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)]
    row = RecoveryCode.objects.filter(user=user, code_hash__in=hashes, used_at__isnull=True).first()
    if row is None:
        return False
    # The conditional UPDATE is the check: of two requests with one code, only one changes the row.
    return RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1
