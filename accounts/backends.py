from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend

from provider import metrics


class EmailBackend(ModelBackend):
    """ModelBackend with a case-insensitive email lookup (the manager's natural key)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # NUL bytes can't be in any stored email; PostgreSQL would raise on them.
        if username and "\x00" in username:
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            # Counted where the password is checked, not at login: a second step may follow it, and
            # a passkey signs in without one (failures come from Django's user_login_failed).
            metrics.sign_in(method=metrics.PASSWORD, outcome=metrics.SUCCESS)
        return user


class LoginProtectionBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every sign-in that comes with a request (pages, password grant).

    A call without a request (a shell, a management command) has no address to count and no user at a
    keyboard to lock out; django-axes would raise, so it is let through to the password check.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
