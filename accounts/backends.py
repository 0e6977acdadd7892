from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """ModelBackend with a case-insensitive email lookup (the manager's natural key)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # NUL bytes can't be in any stored email; PostgreSQL would raise on them.
        if username and "\x00" in username:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
