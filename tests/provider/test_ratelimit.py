"""Rate limits on /token and /introspect: 429 in the RFC 6749 error shape, with Retry-After."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frozen_rate_window(monkeypatch):
    """The limits count in fixed windows of wall-clock time: one must not end mid-test."""
    monkeypatch.setattr("provider.ratelimit.clock", lambda: 1_800_000_000.0)


def post(issuer, path, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return requests.post(
        f"{issuer}{path}",
        data={"grant_type": "client_credentials", "token": "x"},
        auth=("nobody", "wrong"),
        headers=headers,
        timeout=10,
    )


@pytest.mark.parametrize(("path", "setting"), [("/token", "TOKEN"), ("/introspect", "INTROSPECT")])
def test_limit_answers_429_with_retry_after(issuer, settings, path, setting):
    setattr(settings, f"SIGNET_RATELIMIT_{setting}", "3/h")
    for _ in range(3):
        assert post(issuer, path).status_code in (400, 401, 403)
    limited = post(issuer, path)
    assert limited.status_code == 429
    assert limited.json()["error"] == "temporarily_unavailable"
    assert "retry after" in limited.json()["error_description"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert limited.headers["Cache-Control"] == "no-store"


def test_limit_is_per_client_address(issuer, settings):
    settings.SIGNET_RATELIMIT_TOKEN = "2/h"
    settings.SIGNET_PROXY_COUNT = 1  # one trusted proxy: the client is the last X-Forwarded-For entry
    for _ in range(2):
        post(issuer, "/token", forwarded_for="203.0.113.7")
    assert post(issuer, "/token", forwarded_for="203.0.113.7").status_code == 429
    # A client can't escape by writing its own X-Forwarded-For entries to the left of the proxy's.
    assert post(issuer, "/token", forwarded_for="198.51.100.1, 203.0.113.7").status_code == 429
    assert post(issuer, "/token", forwarded_for="203.0.113.8").status_code == 401


def test_empty_rate_turns_the_limit_off(issuer, settings):
    settings.SIGNET_RATELIMIT_TOKEN = ""
    assert all(post(issuer, "/token").status_code == 401 for _ in range(5))


def test_other_endpoints_are_not_limited(issuer, settings):
    settings.SIGNET_RATELIMIT_TOKEN = "1/h"
    settings.SIGNET_RATELIMIT_INTROSPECT = "1/h"
    assert all(requests.get(f"{issuer}/jwks", timeout=10).status_code == 200 for _ in range(3))


def test_ipv6_clients_count_by_their_64(issuer, settings):
    """Finding 7: each address of one IPv6 /64 had a counter of its own."""
    settings.SIGNET_RATELIMIT_TOKEN = "2/h"
    settings.SIGNET_PROXY_COUNT = 1
    assert post(issuer, "/token", forwarded_for="2001:db8:7:1::1").status_code == 401
    assert post(issuer, "/token", forwarded_for="2001:db8:7:1:aaaa:bbbb:cccc:dddd").status_code == 401
    assert post(issuer, "/token", forwarded_for="2001:db8:7:1::ffff").status_code == 429
    assert post(issuer, "/token", forwarded_for="2001:db8:7:2::1").status_code == 401


def test_ipv6_prefix_length_comes_from_settings(issuer, settings):
    settings.SIGNET_RATELIMIT_TOKEN = "1/h"
    settings.SIGNET_PROXY_COUNT = 1
    settings.SIGNET_IPV6_PREFIX_LENGTH = 48
    assert post(issuer, "/token", forwarded_for="2001:db8:7:1::1").status_code == 401
    assert post(issuer, "/token", forwarded_for="2001:db8:7:ffff::1").status_code == 429
    assert post(issuer, "/token", forwarded_for="2001:db8:8::1").status_code == 401
