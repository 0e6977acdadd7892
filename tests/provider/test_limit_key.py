"""Who lockouts and rate limits count (`context.limit_key`) against who logs and audit events name."""

import pytest
from django.test import RequestFactory

from provider import context


def request_from(address):
    return RequestFactory().get("/", REMOTE_ADDR=address)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("::1", "::"),
        ("not-an-address", None),
    ],
)
def test_ipv6_clients_are_keyed_by_their_64(settings, address, key):
    settings.SIGNET_PROXY_COUNT = 0
    assert context.limit_key(request_from(address)) == key


def test_prefix_length_comes_from_settings_and_logs_keep_the_full_address(settings):
    settings.SIGNET_PROXY_COUNT = 0
    request = request_from("2001:db8:1:2:3:4:5:6")
    settings.SIGNET_IPV6_PREFIX_LENGTH = 56
    assert context.limit_key(request) == "2001:db8:1::"
    settings.SIGNET_IPV6_PREFIX_LENGTH = 128
    assert context.limit_key(request) == "2001:db8:1:2:3:4:5:6"
    assert context.client_ip(request) == "2001:db8:1:2:3:4:5:6"
