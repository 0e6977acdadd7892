"""An operator's reset of a user's second factors: the way back for a user who lost them all."""

from django.db import transaction

from provider.audit import audit

from . import factor_notices
from .models import Passkey, RecoveryCode, TotpDevice


def second_factors_of(user):
    """What the admin and `users show` say of a user's factors: no secret, no credential material."""
    return {
        "totp": TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists(),
        "recovery_codes_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
        "passkeys": list(Passkey.objects.filter(user=user).values_list("name", flat=True)),
    }


def mfa_reset(*, user, actor, reason):
    """Remove the user's authenticator, recovery codes and passkeys; audited as mfa.reset, mailed.

    The user then signs in with their password alone (and is enrolled again where a policy asks).
    """
    with transaction.atomic():
        removed = {
            "totp": TotpDevice.objects.filter(user=user).delete()[0] > 0,
            "recovery_codes": RecoveryCode.objects.filter(user=user).delete()[0],
            "passkeys": Passkey.objects.filter(user=user).delete()[0],
        }
        audit("mfa.reset", actor=actor, reason=reason, user=str(user.pk), email=user.email, **removed)
    factor_notices.factor_notify(user=user, event=factor_notices.RESET)
    return removed
