"""Scope checks for views authenticated by authentication.BearerTokenAuthentication."""

from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission


class InsufficientScope(exceptions.PermissionDenied):
    """RFC 6750 3.1: a valid token that lacks a scope the endpoint needs (403)."""

    status_code = status.HTTP_403_FORBIDDEN
    error = "insufficient_scope"

    def __init__(self, scopes):
        self.scopes = list(scopes)
        super().__init__(f"This endpoint needs the scope(s): {' '.join(self.scopes)}.")


class HasScope(BasePermission):
    """Grants access when the token carries every scope in the view's `get_required_scopes()`.

    Without a valid token it denies, and DRF answers 401 with the Bearer challenge.
    """

    def has_permission(self, request, view):
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False
        required = view.get_required_scopes()
        if not set(required) <= user.scopes:
            raise InsufficientScope(required)
        return True
