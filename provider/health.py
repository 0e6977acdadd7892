"""Liveness and readiness probes."""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


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
