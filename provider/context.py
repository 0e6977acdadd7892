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
    events and `limit_key`, so they all agree on who the client is.
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


def limit_key(request):
    """Who brute-force protection and rate limits count: the client address, an IPv6 one by its prefix.

    An IPv6 subscriber is given at least a whole /64 (RFC 6177) and may use any address in it, so
    counting full IPv6 addresses would give it 2^64 fresh counters. The key is the prefix's first address
    (`2001:db8:1:2::` for a /64), a valid address, so it fits django-axes' address column. An IPv4
    address, and an IPv6-mapped one (`::ffff:192.0.2.1`), counts as itself. Logs and audit events keep
    the full address (`client_ip`).
    """
    ip = client_ip(request)
    if ip is None:
        return None
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ip
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    prefix = settings.SIGNET_IPV6_PREFIX_LENGTH
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)
