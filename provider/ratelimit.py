"""Rate limits on the token and introspection endpoints, per client address, counted in the cache.

An IPv6 client is counted by its prefix (`context.limit_key`). The counters are only shared between
worker processes when the cache is (Redis): `check --deploy` warns otherwise (provider/checks.py).

django-ratelimit does the counting; this middleware picks the endpoints by URL name (so it covers
whichever view class serves them) and answers in the token endpoint's own error shape.
"""

import logging

from django.conf import settings
from django.http import JsonResponse
from django_ratelimit.core import get_usage

from provider import context

log = logging.getLogger("signet.ratelimit")

LIMITED = {
    "oauth2_provider:token": "SIGNET_RATELIMIT_TOKEN",
    "oauth2_provider:introspect": "SIGNET_RATELIMIT_INTROSPECT",
}


def _client_key(group, request):
    return context.limit_key(request) or "unknown"


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        setting = LIMITED.get(match.view_name) if match is not None else None
        rate = getattr(settings, setting, "") if setting else ""
        if not rate:
            return None
        usage = get_usage(request, group=match.view_name, key=_client_key, rate=rate, increment=True)
        if usage is None or not usage["should_limit"]:
            return None
        retry_after = max(1, int(usage["time_left"]))
        log.warning("rate limit %s reached on %s", rate, match.view_name)
        return too_many_requests(retry_after)


def too_many_requests(retry_after, *, error="temporarily_unavailable", description=None):
    """429 in the RFC 6749 5.2 error shape, with Retry-After (RFC 9110 10.2.3)."""
    description = description or f"Too many requests from this address; retry after {retry_after} seconds."
    response = JsonResponse({"error": error, "error_description": description}, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
