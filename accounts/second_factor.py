"""Checking a one-time code (TOTP or recovery) for a known user, under the password's lockout rules.

A wrong code is a failed sign-in for that account, recorded by django-axes' handler as a wrong
password is: it counts toward the same pair lock, address lock and account throttle, so a stolen
password does not buy unlimited guesses at six digits. It is audited as mfa.code_failed and counted
as an "otp" failure (not through Django's user_login_failed, whose receivers say "password").
"""

from dataclasses import dataclass

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings

from provider import metrics
from provider.audit import audit

from . import authn, factor_notices, recovery_codes, totp
from .lockout import lockout_message

TOTP, RECOVERY = "totp", "recovery"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    locked: str | None = None  # the lockout message, when the account is locked for this attempt
    retry_after: int | None = None


def _credentials(user):
    return {"username": user.get_username()}


def _lock(request):
    lock = getattr(request, "signet_lock", None)
    retry_after = (
        lock.retry_after if lock is not None else None
    ) or settings.SIGNET_LOGIN_LOCKOUT_MINUTES * 60
    return Outcome(ok=False, locked=lockout_message(lock), retry_after=retry_after or 3600)


def code_check(*, request, user, kind, code):
    """Check `code` of `kind` (TOTP or RECOVERY) for `user`: Outcome(ok) or why not (locked or wrong)."""
    if settings.AXES_ENABLED and AxesProxyHandler.is_locked(request, _credentials(user)):
        return _lock(request)
    if kind == RECOVERY:
        ok = recovery_codes.recovery_code_use(user=user, code=code)
    else:
        ok = totp.totp_verify(user=user, code=code)
    metrics.sign_in(method=authn.OTP, outcome=metrics.SUCCESS if ok else metrics.FAILURE)
    if ok:
        if kind == RECOVERY:
            audit("mfa.recovery_code_used", actor=user, remaining=recovery_codes.remaining(user))
            factor_notices.factor_notify(user=user, event=factor_notices.RECOVERY_CODE_USED)
        return Outcome(ok=True)
    audit("mfa.code_failed", actor=user, method=kind)
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=_credentials(user), request=request)
    if getattr(request, "axes_locked_out", False):
        # This failure reached a limit. The page says so itself: django-axes' middleware would
        # otherwise answer with the login page's lockout, which knows nothing of this step.
        request.axes_locked_out = False
        return _lock(request)
    return Outcome(ok=False)
