"""What the current request is, for code that has no request in hand (logs, audit events).

The request-log middleware sets these at the start of each request and clears them at the end.
"""

import contextvars
import ipaddress

from django.conf import settings

request_id = contextvars.ContextVar("signet_request_id", default=None)
client_address = contextvars.ContextVar("signet_client_address", default=None)


def client_ip(request):
    """The client's IP address: REMOTE_ADDR, or the address SIGNET_PROXY_COUNT trusted proxies forwarded.

    With N trusted proxies in front, the client is the N-th address from the right of X-Forwarded-For
    (addresses further left were written by the client and prove nothing). Shared by logs, audit
    events, brute-force protection and rate limits so they all agree on who the client is.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.SIGNET_PROXY_COUNT
    if proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            remote = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return None
