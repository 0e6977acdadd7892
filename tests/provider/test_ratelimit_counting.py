"""provider/ratelimit.py's counting: at most one cache round trip per request, in Redis and in other
caches; in Redis, blocks of counts reserved while far from the limit; fixed windows per address, and a
cache outage that lets requests through (RATELIMIT_FAIL_OPEN)."""

import os
import socket
import uuid

import pytest
from django.core.cache import caches
from django.test import Client
from django_redis import get_redis_connection
from redis.connection import AbstractConnection

from provider import ratelimit

NOW = 1_800_000_000
# .ci/run gives its concurrent SQLite and PostgreSQL runs a Redis database each.
REDIS = f"redis://127.0.0.1:6379/{os.environ.get('SIGNET_TEST_REDIS_DB', '15')}"


def redis_options(location):
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": f"signet-test-{uuid.uuid4().hex}",
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }


@pytest.fixture
def clock(monkeypatch):
    now = [NOW]
    monkeypatch.setattr("provider.ratelimit.clock", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def _fresh_blocks(monkeypatch):
    """Each test starts as a new process would, with no counts reserved."""
    monkeypatch.setattr(ratelimit, "_blocks", ratelimit._Blocks())


@pytest.fixture
def redis_cache(settings):
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as e:
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({e})")
    settings.CACHES = {"default": redis_options(REDIS)}
    cache = caches["default"]
    yield cache
    connection = get_redis_connection("default")
    stale = list(connection.scan_iter(match=cache.make_key("*")))
    if stale:
        connection.delete(*stale)


@pytest.fixture
def round_trips(monkeypatch):
    """Commands sent to Redis, one entry per write to the socket: a pipeline or a script is one."""
    sent = []
    original = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def hit(rate="3/h", key="203.0.113.9"):
    return ratelimit.hit(group="oauth2_provider:token", rate=rate, key=key)


def test_one_round_trip_to_redis_per_count(redis_cache, round_trips, clock):
    hit(key="192.0.2.1")  # the connection's handshake and the script's first load: once per process
    round_trips.clear()
    assert hit().count == 1  # a window's first request, which creates the counter
    assert len(round_trips) == 1
    usage = hit()
    assert len(round_trips) == 2
    assert usage.count == 2
    key = redis_cache.make_key(f"signet:rl:oauth2_provider:token:3/h:203.0.113.9:{usage.retry_after + NOW}")
    connection = get_redis_connection("default")
    assert int(connection.get(key)) == 2
    assert 0 < connection.ttl(key) <= 3601  # made to outlive its window, then gone


@pytest.mark.django_db
def test_a_token_request_costs_the_rate_limit_at_most_one_round_trip(
    redis_cache, round_trips, clock, monkeypatch, settings
):
    settings.SIGNET_RATELIMIT_TOKEN = "1200/m"  # the default: blocks of 12
    counted = []
    real_hit = ratelimit.hit

    def measured(**kwargs):
        before = len(round_trips)
        usage = real_hit(**kwargs)
        counted.append(len(round_trips) - before)
        return usage

    monkeypatch.setattr(ratelimit, "hit", measured)
    client = Client()
    for _ in range(12 + 2):
        client.post("/token", {"grant_type": "client_credentials"})
    # One round trip reserves counts 1-12 (and, being the first, opens the connection and loads the
    # script); the 13th request reserves 13-24.
    assert counted[0] >= 1 and counted[1:] == [0] * 11 + [1, 0]


def redis_count(cache, rate, usage, key="203.0.113.9"):
    name = cache.make_key(f"signet:rl:oauth2_provider:token:{rate}:{key}:{usage.retry_after + NOW}")
    return int(get_redis_connection("default").get(name))


def test_far_from_the_limit_counts_are_reserved_a_block_at_a_time(redis_cache, round_trips, clock):
    hit(rate="1/h", key="192.0.2.1")  # the connection's handshake and the script's first load
    round_trips.clear()
    usages = [hit(rate="1000/h") for _ in range(25)]
    assert [u.count for u in usages] == list(range(1, 26))
    assert len(round_trips) == 3  # blocks of 10 (1% of the limit): 1-10, 11-20, 21-30
    assert redis_count(redis_cache, "1000/h", usages[-1]) == 30


def test_a_limit_under_200_is_counted_one_request_at_a_time(redis_cache, round_trips, clock):
    assert ratelimit.block_size(199) == 1 and ratelimit.block_size(200) == 2
    hit(rate="1/h", key="192.0.2.1")
    round_trips.clear()
    usages = [hit(rate="199/h") for _ in range(5)]
    assert [u.count for u in usages] == [1, 2, 3, 4, 5] and len(round_trips) == 5
    assert redis_count(redis_cache, "199/h", usages[-1]) == 5


def test_blocks_are_never_larger_than_max_block(redis_cache, clock):
    assert ratelimit.block_size(100_000_000) == ratelimit.MAX_BLOCK == 16
    usage = hit(rate="100000000/m")
    assert usage.count == 1 and redis_count(redis_cache, "100000000/m", usage) == 16


def test_from_half_the_limit_every_request_is_counted_as_it_comes(redis_cache, round_trips, clock):
    hit(rate="1/h", key="192.0.2.1")
    round_trips.clear()
    usages = [hit(rate="1000/h") for _ in range(520)]
    assert [u.count for u in usages] == list(range(1, 521))
    assert len(round_trips) == 50 + 20  # blocks of 10 up to 500, then one count per request
    assert redis_count(redis_cache, "1000/h", usages[-1]) == 520
    usages += [hit(rate="1000/h") for _ in range(481)]
    assert [u.exceeded for u in usages[-2:]] == [False, True]  # the 1000th passes, the 1001st not
    assert redis_count(redis_cache, "1000/h", usages[-1]) == 1001  # nothing reserved is left over


def test_processes_take_unique_counts_and_none_passes_the_limit(redis_cache, clock, monkeypatch):
    processes = [ratelimit._Blocks(), ratelimit._Blocks()]
    counts, passed = [], 0
    for n in range(1200):
        monkeypatch.setattr(ratelimit, "_blocks", processes[n % 2])
        usage = hit(rate="1000/h")
        counts.append(usage.count)
        passed += not usage.exceeded
    assert len(set(counts)) == len(counts)  # no count handed out twice
    assert counts[:4] == [1, 11, 2, 12]  # each process its own block
    # What another process reserved and left unused counts against the address: (2 - 1) x (10 - 1) at most.
    assert 1000 - 9 <= passed <= 1000


def test_reservations_of_past_windows_are_forgotten_first(redis_cache, clock, monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_BLOCKS_KEPT", 3)
    for n in range(3):
        hit(rate="1000/m", key=f"198.51.100.{n}")
    clock[0] += 120  # those windows are over
    hit(rate="1000/m", key="198.51.100.9")
    assert len(ratelimit._blocks.by_key) == 1
    for n in range(3):
        hit(rate="1000/m", key=f"198.51.100.{10 + n}")
    assert len(ratelimit._blocks.by_key) <= 3  # all current: the table starts again


def test_counting_in_redis_and_the_answer(redis_cache, clock):
    assert [hit().count for _ in range(3)] == [1, 2, 3]
    over = hit()
    assert over.exceeded and 1 <= over.retry_after <= 3600
    clock[0] += over.retry_after  # the next window starts afresh
    assert hit().count == 1


def test_one_cache_call_per_count_in_other_caches(clock, monkeypatch):
    cache = caches["default"]  # the tests' LocMemCache
    calls = []

    def recording(name, original):
        def recorded(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        return recorded

    for name in ("add", "get", "set", "incr", "get_many", "set_many", "touch"):
        monkeypatch.setattr(cache, name, recording(name, getattr(cache, name)))
    hit()
    assert calls == ["incr", "add"]  # the window's first request creates its counter
    calls.clear()
    assert hit().count == 2
    assert calls == ["incr"]


def test_counting_in_other_caches(clock):
    assert [hit().count for _ in range(3)] == [1, 2, 3]
    assert hit().exceeded
    assert hit(key="203.0.113.10").count == 1  # per address
    assert hit(rate="5/h").count == 1  # a changed limit counts afresh


def test_each_address_has_its_own_window_offset(clock):
    ends = {hit(rate="3/m", key=f"203.0.113.{n}").retry_after for n in range(20)}
    assert len(ends) > 1  # not every client's counter resets at the same second


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {"default": redis_options("redis://127.0.0.1:1/15")}


@pytest.mark.django_db
def test_a_cache_outage_lets_requests_through(redis_down, settings, clock):
    settings.RATELIMIT_FAIL_OPEN = True
    assert hit() is None
    settings.SIGNET_RATELIMIT_TOKEN = "1/h"
    client = Client()
    statuses = [client.post("/token", {"grant_type": "client_credentials"}).status_code for _ in range(3)]
    assert statuses == [400] * 3


def test_without_fail_open_an_outage_refuses(redis_down, settings, clock):
    settings.RATELIMIT_FAIL_OPEN = False
    assert hit().exceeded


def test_ratelimit_enable_false_turns_counting_off(settings, clock):
    settings.RATELIMIT_ENABLE = False
    assert hit() is None


RATES = [("1200/m", (1200, 60)), ("5/h", (5, 3600)), ("10/5m", (10, 300)), ("2/d", (2, 86400))]


@pytest.mark.parametrize(("rate", "parsed"), RATES)
def test_rates(rate, parsed):
    assert ratelimit.parse_rate(rate) == parsed


def test_a_malformed_rate_is_refused():
    with pytest.raises(ValueError, match="not a rate"):
        ratelimit.parse_rate("1200 per minute")
