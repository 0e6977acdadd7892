"""Audiences of access tokens (RFC 8707 resource indicators, RFC 9068 aud). Imports no DOT."""

from urllib.parse import urlsplit

from django.conf import settings


def allowed_audiences(client):
    """The resources a client may ask tokens for: its own list, else SIGNET_DEFAULT_AUDIENCE."""
    if client.audience_list:
        return client.audience_list
    return [settings.SIGNET_DEFAULT_AUDIENCE] if settings.SIGNET_DEFAULT_AUDIENCE else []


def default_audience(client):
    """aud when the request names no resource: the client's first audience, else the default, else itself."""
    allowed = allowed_audiences(client)
    return allowed[0] if allowed else client.client_id


def is_resource_uri(value):
    """RFC 8707 2: an absolute URI without a fragment."""
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and "#" not in value


def first_disallowed(resources, client):
    """The first requested resource that is not an absolute URI or not one of the client's audiences
    (RFC 8707 2: invalid_target), or None."""
    allowed = set(allowed_audiences(client))
    return next((r for r in resources if not is_resource_uri(r) or r not in allowed), None)


def token_audience(resources, client):
    """RFC 9068 aud: the requested resources (one → a string), else the client's default audience."""
    if not resources:
        return default_audience(client)
    return resources[0] if len(resources) == 1 else list(resources)
