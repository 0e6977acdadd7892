"""Sign-in events from Django's auth signals and django-axes, written through `audit()`."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit


def _client_id(request):
    """The relying party a sign-in is for, when the login page was reached from /authorize."""
    if request is None or not hasattr(request, "POST"):
        return None
    from accounts.views import authorize_param

    next_url = request.POST.get("next") or request.GET.get("next")
    return authorize_param(next_url, "client_id")


@receiver(user_logged_in, dispatch_uid="signet_audit_login")
def login_succeeded(sender, request, user, **kwargs):
    audit("login.succeeded", actor=user, client_id=_client_id(request), email=user.email)


@receiver(user_login_failed, dispatch_uid="signet_audit_login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the typed identifier is kept.
    username = str(credentials.get("username") or "")[:254]
    locked = bool(getattr(request, "axes_locked_out", False))
    audit("login.failed", actor=username, client_id=_client_id(request), locked_out=locked)


@receiver(user_logged_out, dispatch_uid="signet_audit_logout")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit("logout", actor=user, email=user.email)


@receiver(user_locked_out, dispatch_uid="signet_audit_locked_out")
def locked_out(sender, request, username, ip_address, **kwargs):
    audit("login.locked_out", actor=str(username or "")[:254], client_id=_client_id(request))
