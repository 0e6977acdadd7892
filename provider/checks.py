"""Deployment checks (`manage.py check --deploy`): configurations that work but are unsafe in production.

The key-encryption-key check lives with the keys (keys/checks.py, signet.W001).
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


def _is_loopback(host):
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register(Tags.security, deploy=True)
def check_issuer_scheme(app_configs, **kwargs):
    """OIDC Discovery 3 / OAuth 2.0 Security BCP: an issuer reachable beyond this machine is https."""
    parts = urlsplit(settings.OIDC_ISSUER)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        return [
            Warning(
                f"OIDC_ISSUER {settings.OIDC_ISSUER} is plain http on a host other than this machine: "
                "codes, tokens and passwords would cross the network in clear.",
                hint="Serve Signet over https and set OIDC_ISSUER to its https URL.",
                id="signet.W101",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_debug(app_configs, **kwargs):
    if settings.DEBUG:
        return [
            Warning(
                "DEBUG is on: error pages show settings and stack traces, and secrets have development "
                "defaults.",
                hint="Set DEBUG=false in production.",
                id="signet.W102",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_allowed_hosts(app_configs, **kwargs):
    if not settings.ALLOWED_HOSTS:
        host = urlsplit(settings.OIDC_ISSUER).hostname
        return [
            Warning(
                "ALLOWED_HOSTS is empty: every request will be refused with 400.",
                hint=f"Set ALLOWED_HOSTS to the issuer's host name ({host}).",
                id="signet.W103",
            )
        ]
    return []


# Caches that live inside one process, and what becomes of the counters there.
_UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": (
        "each worker process counts on its own, so a limit is multiplied by the number of workers"
    ),
    "django.core.cache.backends.dummy.DummyCache": "nothing is counted, so no limit ever holds",
}


@register(Tags.security, deploy=True)
def check_rate_limit_cache(app_configs, **kwargs):
    """Rate limits count in the cache: without a shared one, N workers allow N times the limit.

    Sign-in lockouts count in the database (django-axes' attempt records), so they hold across workers
    whatever the cache is.
    """
    limits = ("SIGNET_RATELIMIT_TOKEN", "SIGNET_RATELIMIT_INTROSPECT")
    limited = [name for name in limits if getattr(settings, name)]
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if not limited or backend not in _UNSHARED_CACHES:
        return []
    return [
        Warning(
            f"Rate limits are on ({', '.join(limited)}) but the cache ({backend.rsplit('.', 1)[-1]}) is not "
            f"shared: {_UNSHARED_CACHES[backend]}.",
            hint="Set REDIS_URL so that all workers and instances share the counters.",
            id="signet.W104",
        )
    ]
