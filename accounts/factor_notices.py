"""Emails telling users that a factor of their account changed or a recovery code was used.

The mail names the kind of factor and when, never a secret. A failure to send is logged, not raised:
the change it reports has happened either way.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

log = logging.getLogger("signet.accounts")

ADDED, REMOVED, RECOVERY_CODE_USED, RESET = "added", "removed", "recovery_code_used", "reset"
TEMPLATES = {
    ADDED: "accounts/email/mfa_factor_added",
    REMOVED: "accounts/email/mfa_factor_removed",
    RECOVERY_CODE_USED: "accounts/email/mfa_recovery_code_used",
    RESET: "accounts/email/mfa_factor_removed",
}


def factor_notify(*, user, event, factor=""):
    """Mail `user` about `event` (ADDED, REMOVED, RECOVERY_CODE_USED, RESET) of `factor` (a label)."""
    context = {
        "user": user,
        "factor": factor,
        "when": timezone.now(),
        "site_name": getattr(settings, "SIGNET_SITE_NAME", "") or "Signet",
        "reset": event == RESET,
    }
    name = TEMPLATES[event]
    subject = " ".join(render_to_string(f"{name}_subject.txt", context).split())
    body = render_to_string(f"{name}.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except Exception:  # noqa: BLE001 - any mail transport error; the change itself stands
        log.exception("could not send the %s notice", event)
