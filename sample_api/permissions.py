"""Scope and group checks for views authenticated by authentication.BearerTokenAuthentication."""

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


class NotInGroup(exceptions.PermissionDenied):
    """A valid token of a user outside the group the endpoint needs (403)."""

    status_code = status.HTTP_403_FORBIDDEN

    def __init__(self, group):
        self.group = group
        super().__init__(f"This endpoint is for members of the group {group!r}.")


def token_groups(claims):
    """The `groups` claim of verified claims: the names of the user's groups, or none when absent or
    not a list of strings (the provider adds it only for clients set to carry it)."""
    groups = claims.get("groups") if isinstance(claims, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return frozenset()
    return frozenset(groups)


class HasGroup(BasePermission):
    """Grants access when the token's `groups` claim names the view's `get_required_group()`.

    Without a valid token it denies, and DRF answers 401 with the Bearer challenge.
    """

    def has_permission(self, request, view):
        if not getattr(request.user, "is_authenticated", False):
            return False
        required = view.get_required_group()
        if required not in token_groups(request.auth):
            raise NotInGroup(required)
        return True
