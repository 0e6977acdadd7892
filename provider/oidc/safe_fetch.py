"""One GET to a URL a client chose (its jwks_uri, its client ID metadata document), with SSRF rules.

Over https only, with a timeout, a size limit and no redirects, and never to a private, loopback or
link-local address unless the caller allows it: the name is resolved once, every address checked,
and the connection made to a checked address (so a second DNS answer cannot swap in another). The
certificate is verified for the URL's host name. Every failure is a FetchRefused whose message names
why in words safe to log and show to the client's developer, never the content fetched.
"""

import ipaddress
import re
import socket
import ssl
import time
from typing import NamedTuple
from urllib.parse import urlsplit

import urllib3

FETCH_TIMEOUT_SECONDS = 5
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
# RFC 6052 2.1: the well-known NAT64 prefix, the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class FetchRefused(Exception):
    """The URL could not give a usable answer (the message names why, never what was served)."""


class PrivateAddressRefused(FetchRefused):
    """The URL resolves to an address the caller did not allow: the operator's rule, not an outage."""


class Fetched(NamedTuple):
    status: int
    cache_control: str | None
    body: bytes


def cache_lifetime(cache_control, *, default, minimum, maximum):
    """Seconds to keep what was fetched: its max-age within [minimum, maximum]. no-store and
    no-cache count as the minimum: refetching on every request would let anyone who can send
    requests make Signet fetch at their pace."""
    cache_control = cache_control or ""
    if _NO_CACHE.search(cache_control):
        return minimum
    match = _MAX_AGE.search(cache_control)
    seconds = int(match.group(1)) if match else default
    return max(minimum, min(seconds, maximum))


def public_address(address):
    """True for an address anyone on the internet could reach: not private, loopback, link-local..."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64, Teredo) may be routed to
        # it: judged by the IPv4 address, or a DNS answer could reach 169.254.169.254 through it.
        if ip.teredo is not None:
            return all(public_address(str(part)) for part in ip.teredo)
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def _addresses(host, port, *, allow_private, what):
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise FetchRefused(f"{what}'s host does not resolve") from e
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    # SSRF: a client must not make Signet reach into its own network (RFC 7591 5, OWASP SSRF).
    if not allow_private and not all(public_address(a) for a in addresses):
        raise PrivateAddressRefused(f"{what} resolves to a private, loopback or link-local address")
    return addresses


def fetch(url, *, allow_private, max_bytes, accept, what, document, timeout=FETCH_TIMEOUT_SECONDS):
    """GET `url` (an https URL the caller has already checked the shape of): its Fetched answer.

    `what` names the URL and `document` what it serves, in messages ("the JWKS URI", "the JWK Set").
    Any status is returned as it is: a 3xx is never followed.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise FetchRefused(f"{what} must be an https URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    error = None
    for address in _addresses(parts.hostname, parts.port or 443, allow_private=allow_private, what=what):
        try:
            return _get(
                address,
                parts.port or 443,
                parts.hostname,
                parts.netloc,
                target,
                accept=accept,
                max_bytes=max_bytes,
                timeout=timeout,
                what=what,
                document=document,
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as e:
            error = e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise FetchRefused(f"{what} could not be read ({type(e).__name__})") from e
    raise FetchRefused(f"{what}'s host could not be reached") from error


def _get(address, port, hostname, netloc, target, *, accept, max_bytes, timeout, what, document):
    """One GET to `address`, verifying the certificate for `hostname`."""
    pool = urllib3.HTTPSConnectionPool(
        address,
        port,
        server_hostname=hostname,
        # Created per fetch: it reads the system's trust store (and SSL_CERT_FILE) as it is now.
        ssl_context=ssl.create_default_context(),
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        maxsize=1,
    )
    # The read timeout bounds each read; this bounds them all, against a server that trickles.
    deadline = time.monotonic() + timeout
    try:
        response = pool.urlopen(
            "GET",
            target,
            headers={"Host": netloc, "Accept": accept},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        body = b""
        for chunk in response.stream(16 * 1024):
            body += chunk
            if len(body) > max_bytes:
                raise FetchRefused(f"{document} is larger than {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchRefused(f"{what} took too long to answer")
        response.release_conn()
        return Fetched(response.status, response.headers.get("Cache-Control"), body)
    finally:
        pool.close()
