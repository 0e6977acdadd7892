"""Liveness and readiness probes, and the answer given while the database is unreachable."""

import logging
import sys

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache

log = logging.getLogger("signet.health")

# Seconds a client is asked to wait before retrying during a database outage.
OUTAGE_RETRY_AFTER = 5


@never_cache
def healthz(request):
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Database, cache and an active signing key are reachable; 503 with the reason otherwise."""
    from keys.selectors import active_signing_key

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        checks["database"] = "unreachable"
    try:
        cache.set("signet:readyz", "1", 5)
        checks["cache"] = "ok" if cache.get("signet:readyz") == "1" else "degraded"
    except Exception:  # noqa: BLE001 - any cache failure is a degraded cache, never a crash
        checks["cache"] = "degraded"
    if checks["database"] == "ok":
        try:
            active_signing_key()
            checks["signing_key"] = "ok"
        except Exception:  # noqa: BLE001
            checks["signing_key"] = "missing"
    else:
        checks["signing_key"] = "unknown"
    ready = checks["database"] == "ok" and checks["signing_key"] == "ok"
    # The cache is an optimisation: degraded cache is reported but does not fail readiness.
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _outage(error):
    """Whether `error` was caused, however indirectly, by the database being unreachable."""
    for _ in range(10):  # follow the chain a few links, never a cycle
        if error is None:
            return False
        if isinstance(error, OperationalError | InterfaceError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _outage_response():
    log.warning("database unreachable: answered 503")
    response = JsonResponse(
        {
            "error": "temporarily_unavailable",
            "error_description": "The service is temporarily unavailable. Retry shortly.",
        },
        status=503,
    )
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception, *args, **kwargs):
    """handler400: Django's database session backend turns a failed save into SessionInterrupted (a
    400 saying the user logged out concurrently) even when the save failed because the database is
    down; that is an outage, answered like one. Every other bad request keeps Django's 400 page."""
    if _outage(exception):
        return _outage_response()
    return defaults.bad_request(request, exception, *args, **kwargs)


def server_error(request, *args, **kwargs):
    """handler500: an unreachable database is an outage, not a bug: 503 with a JSON body at once
    (so clients and load balancers retry elsewhere), and every request recovers by itself once the
    database is back (Django reconnects per request). Any other error keeps Django's plain 500 page.

    Django calls this for an exception raised anywhere in a request (views and middleware), inside
    its `except` block, so the exception is still in sys.exc_info().
    """
    if not _outage(sys.exc_info()[1]):
        return defaults.server_error(request, *args, **kwargs)
    return _outage_response()
