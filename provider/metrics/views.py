"""GET /metrics: the Prometheus text exposition, for whoever settings allow (README "Metrics").

Off (SIGNET_METRICS): 404, the same page as any unknown path. With SIGNET_METRICS_TOKEN: the scraper
sends `Authorization: Bearer <it>`, else 401 with no body. Without one: only a direct connection
from loopback may scrape; anyone else gets the 404 too.
"""

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .keyring import KeyRingCollector

# Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever REMOTE_ADDR says.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def metrics(request):
    if not settings.SIGNET_METRICS:
        raise Http404
    if settings.SIGNET_METRICS_TOKEN:
        if not bearer_matches(request.headers.get("Authorization", ""), settings.SIGNET_METRICS_TOKEN):
            return _unauthorized()
    elif not direct_from_loopback(request):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    # 0.0.4: the text format every Prometheus version reads (the names need none of 1.0.0's escaping).
    response = HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response


def bearer_matches(authorization, secret):
    """Whether the header is `Bearer <secret>`; compared as digests, in constant time and length."""
    scheme, _, value = authorization.partition(" ")
    presented = value.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(secret.encode()).digest(),
    ) and bool(presented)


def direct_from_loopback(request):
    """A connection from this machine that no proxy forwarded (a local proxy's would be loopback too)."""
    if any(header in request.META for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def scrape_registry():
    """What a scrape reads: every worker's files (multiprocess) or this process's, and the key ring."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)
    registry.register(KeyRingCollector())
    return registry


def _unauthorized():
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    response["Cache-Control"] = "no-store"
    return response
