from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """ModelBackend with a case-insensitive email lookup (the manager's natural key)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # NUL bytes can't be in any stored email; PostgreSQL would raise on them.
        if username and "\x00" in username:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginProtectionBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every sign-in that comes with a request (pages, password grant).

    A call without a request (a shell, a management command) has no address to count and no user at a
    keyboard to lock out; django-axes would raise, so it is let through to the password check.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
