"""Token lifetimes: the defaults in settings, overridden per client. Imports no DOT.

Read at call time, so tests and per-client overrides apply without a restart.
"""

from datetime import timedelta

from django.conf import settings

OFFLINE_ACCESS = "offline_access"


def access_token_lifetime(client):
    """Seconds an access token lives: the client's override, else SIGNET_ACCESS_TOKEN_LIFETIME."""
    return getattr(client, "access_token_lifetime", None) or settings.SIGNET_ACCESS_TOKEN_LIFETIME


def id_token_lifetime(client):
    return getattr(client, "id_token_lifetime", None) or settings.SIGNET_ID_TOKEN_LIFETIME


def refresh_token_idle_lifetime(client):
    """Seconds a refresh token stays usable after its latest access token expired."""
    seconds = getattr(client, "refresh_token_lifetime", None) or settings.SIGNET_REFRESH_TOKEN_IDLE_LIFETIME
    return timedelta(seconds=seconds)


def refresh_family_lifetime(scopes):
    """Absolute lifetime of a refresh family, however often it is used.

    With offline_access ("stay signed in when you are not using it") a family may live
    SIGNET_REFRESH_TOKEN_MAX_LIFETIME; without it, no longer than a sign-in session
    (SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME).
    """
    if OFFLINE_ACCESS in (scopes or ()):
        return timedelta(seconds=settings.SIGNET_REFRESH_TOKEN_MAX_LIFETIME)
    return timedelta(
        seconds=min(settings.SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME, settings.SIGNET_REFRESH_TOKEN_MAX_LIFETIME)
    )
