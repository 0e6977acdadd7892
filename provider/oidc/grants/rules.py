"""Rules more than one grant applies: requested scopes and resources against what may be granted."""

from .. import audiences
from ..errors import OAuthError


def invalid_scope(description):
    return OAuthError("invalid_scope", description)


def invalid_target(resource):
    # RFC 8707 2: invalid_target for a resource the client may not have tokens for, or not a URI.
    return OAuthError("invalid_target", f"The client may not request tokens for the resource {resource!r}.")


def requested_scopes(ctx, *, within, default=()):
    """The `scope` parameter as a list (RFC 6749 3.3), each one of `within`, else invalid_scope."""
    raw = ctx.param("scope")
    if raw is None:
        return list(default)
    asked = list(dict.fromkeys(raw.split()))
    beyond = [scope for scope in asked if scope not in within]
    if beyond:
        raise invalid_scope(f"The scope {beyond[0]!r} is not available to this client.")
    return asked


def narrowed_resources(ctx, *, granted):
    """RFC 8707 2.2: a token request may name a subset of the grant's resources, never more; a grant
    made for no particular resource allows any of the client's audiences."""
    if not granted:
        return allowed_resources(ctx)
    for resource in ctx.resources:
        if resource not in granted:
            raise invalid_target(resource)
    return list(ctx.resources) if ctx.resources else list(granted)


def allowed_resources(ctx):
    """RFC 8707 2: every requested resource must be an absolute URI among the client's audiences."""
    refused = audiences.first_disallowed(ctx.resources, ctx.client)
    if refused is not None:
        raise invalid_target(refused)
    return list(ctx.resources)
