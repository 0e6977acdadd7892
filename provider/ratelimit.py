"""Rate limits on the token and introspection endpoints, per client address, counted in the cache.

An IPv6 client is counted by its prefix (`context.limit_key`). The counters are only shared between
worker processes when the cache is (Redis): `check --deploy` warns otherwise (provider/checks.py).

The endpoints are picked by URL name (so the limit covers whichever view serves them), and the answer
is the token endpoint's own error shape. Each request costs at most one cache round trip: django-ratelimit's
counting takes two (add, then incr) once a window has begun, so the counting is done here. Windows are
fixed, as django-ratelimit's are, and each address's windows start at an offset of their own, so that
all clients' counters do not reset at the same second. django-ratelimit's RATELIMIT_ENABLE,
RATELIMIT_USE_CACHE and RATELIMIT_FAIL_OPEN settings keep their meaning.

In Redis, a process takes a window's counts a block at a time while the counter is below half its
limit: one INCRBY reserves the next few counts, and the process hands them out to its own requests
without asking again. A Redis round trip costs the worker about as much CPU as the rest of a
client-credentials grant but its signature (bench/README.md), and an address far below its limit
gains nothing from being counted one request at a time. A block is at most 1% of the limit (so a limit
under 200 is counted exactly) and at most MAX_BLOCK; from half the limit on, counting is one request at
a time again. Counts are unique across processes, so no request past the limit is let through; counts
reserved but not used when a window ends make the address reach its limit early by at most
(processes - 1) x (block - 1) requests.
"""

import functools
import logging
import re
import threading
import time
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import JsonResponse
from django_redis import get_redis_connection
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

from provider import context

log = logging.getLogger("signet.ratelimit")

LIMITED = {
    "oauth2_provider:token": "SIGNET_RATELIMIT_TOKEN",
    "oauth2_provider:introspect": "SIGNET_RATELIMIT_INTROSPECT",
    # A device's first request, as machine-driven as its token requests (RFC 8628 5.2).
    "oauth2_provider:device-authorization": "SIGNET_RATELIMIT_TOKEN",
}

# Tests replace it to pin the window.
clock = time.time

# One command, so one round trip: the counter advanced by ARGV[2], and its expiry set when this call
# made it.
COUNT_SCRIPT = """
local by = tonumber(ARGV[2])
local count = redis.call('INCRBY', KEYS[1], by)
if count == by then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
# A block of counts is at most this many, and at most 1/BLOCK_SHARE of the limit.
MAX_BLOCK = 16
BLOCK_SHARE = 100
# Blocks of past windows are forgotten once this many counters have one.
MAX_BLOCKS_KEPT = 4096

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def exceeded(self):
        return self.count > self.limit


@functools.lru_cache(maxsize=32)
def parse_rate(rate):
    """'1200/m' → (1200, 60); '10/5m' → (10, 300). The forms django-ratelimit accepts."""
    found = _RATE.match(rate.strip())
    if found is None:
        raise ValueError(f"not a rate: {rate!r} (expected N/s, N/m, N/h or N/d)")
    limit, multiple, unit = found.groups()
    return int(limit), int(multiple or 1) * _UNITS[unit]


def hit(*, group, rate, key):
    """Count one request by `key` against `rate` and return its Usage, or None when not limited.

    None also when the cache could not count and RATELIMIT_FAIL_OPEN is set: an outage of the cache
    must not take the endpoint down with it. Without RATELIMIT_FAIL_OPEN the request is refused.
    """
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    limit, period = parse_rate(rate)
    now, window_end = _window(key, period)
    count = _count(f"signet:rl:{group}:{rate}:{key}:{window_end}", period, limit=limit, window_end=window_end)
    if count is None:
        if getattr(settings, "RATELIMIT_FAIL_OPEN", False):
            return None
        return Usage(count=1, limit=0, retry_after=1)
    return Usage(count=count, limit=limit, retry_after=max(1, window_end - now))


def peek(*, group, rate, key):
    """The Usage of `key` in its current window without counting a request (`hit` counts); None when
    not limited, or when the cache cannot answer and RATELIMIT_FAIL_OPEN is set."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    limit, period = parse_rate(rate)
    now, window_end = _window(key, period)
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    name = f"signet:rl:{group}:{rate}:{key}:{window_end}"
    try:
        if isinstance(cache, RedisCache):
            alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
            count = get_redis_connection(alias).get(cache.make_key(name))
        else:
            count = cache.get(name)
        count = int(count or 0)
    except (RedisError, OSError, ValueError) as e:
        log.warning("rate limit not read, the cache is unreachable: %s", e)
        if getattr(settings, "RATELIMIT_FAIL_OPEN", False):
            return None
        return Usage(count=1, limit=0, retry_after=1)
    return Usage(count=count, limit=limit, retry_after=max(1, window_end - now))


def _window(key, period):
    """(now, end of the window `key` is in): fixed length, shifted by an offset derived from the key."""
    now = int(clock())
    shift = zlib.crc32(key.encode()) % period
    return now, now - (now - shift) % period + period


def _count(key, period, *, limit, window_end):
    """Add one to the counter `key` (made to outlive its window) and return it; None if uncounted."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if isinstance(cache, RedisCache):
        return _count_in_redis(cache.make_key(key), period, limit=limit, window_end=window_end)
    return _count_in_cache(cache, key, period)


class _Block:
    __slots__ = ("next", "end", "window_end")

    def __init__(self, next, end, window_end):
        self.next, self.end, self.window_end = next, end, window_end


class _Blocks:
    """This process's reserved counts, by Redis key (its prefix and window included)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_key = {}

    def take(self, key):
        """The next reserved count of `key`, or None when there is none; and the block last reserved."""
        with self.lock:
            block = self.by_key.get(key)
            if block is not None and block.next <= block.end:
                block.next += 1
                return block.next - 1, block
            return None, block

    def keep(self, key, first, end, window_end):
        with self.lock:
            if key not in self.by_key and len(self.by_key) >= MAX_BLOCKS_KEPT:
                now = int(clock())
                for stale in [k for k, b in self.by_key.items() if b.window_end <= now]:
                    del self.by_key[stale]
                if len(self.by_key) >= MAX_BLOCKS_KEPT:
                    self.by_key.clear()  # an unused count forgotten only makes the limit count it
            self.by_key[key] = _Block(first + 1, end, window_end)

    def clear(self):
        with self.lock:
            self.by_key.clear()


_blocks = _Blocks()


def block_size(limit):
    return max(1, min(MAX_BLOCK, limit // BLOCK_SHARE))


def _count_in_redis(key, period, *, limit, window_end):
    count, last = _blocks.take(key)
    if count is not None:
        return count
    size = block_size(limit)
    if last is not None and last.end >= limit // 2:
        size = 1  # near the limit every request is counted as it comes
    alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    try:
        client = get_redis_connection(alias)
        end = int(_script(client)(keys=[key], args=[period + 1, size], client=client))
    except (RedisError, OSError) as e:
        log.warning("rate limit not counted, the cache is unreachable: %s", e)
        return None
    first = end - size + 1
    _blocks.keep(key, first, end, window_end)
    return first


@functools.lru_cache(maxsize=8)
def _script(client):
    # Loaded once per client; redis-py sends EVALSHA, and loads the script again after a Redis restart.
    return client.register_script(COUNT_SCRIPT)


def _count_in_cache(cache, key, period):
    """Other caches through Django's cache API: incr alone once the window's counter exists."""
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request
        pass
    if cache.add(key, 1, period + 1):
        return 1
    try:
        return cache.incr(key)  # another request began the window meanwhile
    except ValueError:
        return None


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
        usage = hit(group=match.view_name, rate=rate, key=context.limit_key(request) or "unknown")
        if usage is None or not usage.exceeded:
            return None
        log.warning("rate limit %s reached on %s", rate, match.view_name)
        return too_many_requests(usage.retry_after)


def too_many_requests(retry_after, *, error="temporarily_unavailable", description=None):
    """429 in the RFC 6749 5.2 error shape, with Retry-After (RFC 9110 10.2.3)."""
    description = description or f"Too many requests from this address; retry after {retry_after} seconds."
    response = JsonResponse({"error": error, "error_description": description}, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
