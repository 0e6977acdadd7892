"""sample_api/jwks.py in this process, against the live provider over HTTP, with an injected clock."""

import io

import jwt
import pytest
from django.core.management import call_command

from sample_api.jwks import JWKSClient, JWKSError, KeysUnavailable, UnknownKey, cache_seconds, parse_jwks
from tests.sample_api.tokens import provider_jwks, rsa_key

# Only the tests that talk to the live provider need its database.
live = pytest.mark.django_db(transaction=True)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_client(issuer, clock):
    def make(**kw):
        return JWKSClient(issuer=issuer, clock=clock, **kw)

    return make


def active_kid(issuer):
    return provider_jwks(issuer)["keys"][0]["kid"]  # the provider lists the active key first


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("public, max-age=600", 600),
        ("max-age=5", 60),  # floor
        ("max-age=99999", 3600),  # ceiling
        ('max-age="120"', 120),
        ("no-cache", 60),
        ("no-store, max-age=600", 60),
        ("s-maxage=900", 60),  # not ours: shared caches only
        ("", 60),
        (None, 60),
    ],
)
def test_cache_seconds_clamps_max_age(header, expected):
    assert cache_seconds(header, min_ttl=60, max_ttl=3600) == expected


@live
def test_the_provider_max_age_sets_the_lifetime(issuer, make_client, clock, provider_hits):
    client = make_client(min_ttl=60, max_ttl=3600)  # the provider sends max-age=600
    kid = active_kid(issuer)
    client.signing_key(kid)
    assert provider_hits.jwks == 2  # ours and active_kid()'s

    clock.advance(599)
    client.signing_key(kid)
    assert provider_hits.jwks == 2

    clock.advance(1)
    client.signing_key(kid)
    assert provider_hits.jwks == 3
    assert provider_hits.conditional["/jwks"] == 1  # revalidated with the ETag


@live
def test_the_ceiling_caps_a_long_max_age(issuer, make_client, clock, provider_hits):
    client = make_client(min_ttl=10, max_ttl=100)
    kid = active_kid(issuer)
    client.signing_key(kid)

    clock.advance(99)
    client.signing_key(kid)
    assert provider_hits.jwks == 2
    clock.advance(1)
    client.signing_key(kid)
    assert provider_hits.jwks == 3


@live
def test_the_floor_lifts_a_short_max_age(issuer, settings, make_client, clock, provider_hits):
    settings.SIGNET_JWKS_MAX_AGE = 5
    client = make_client(min_ttl=60, max_ttl=3600)
    kid = active_kid(issuer)
    client.signing_key(kid)

    clock.advance(59)
    client.signing_key(kid)
    assert provider_hits.jwks == 2
    clock.advance(1)
    client.signing_key(kid)
    assert provider_hits.jwks == 3


@live
def test_unknown_kids_refetch_at_most_once_per_cooldown(issuer, make_client, clock, provider_hits):
    client = make_client(cooldown=30)
    client.signing_key(active_kid(issuer))
    assert provider_hits.jwks == 2

    with pytest.raises(UnknownKey):
        client.signing_key("made-up-1")
    assert provider_hits.jwks == 3
    clock.advance(29)
    for i in range(20):
        with pytest.raises(UnknownKey):
            client.signing_key(f"made-up-{i}")
    assert provider_hits.jwks == 3

    clock.advance(1)
    with pytest.raises(UnknownKey):
        client.signing_key("made-up-again")
    assert provider_hits.jwks == 4


@live
def test_a_key_published_after_the_fetch_is_found_with_one_refetch(issuer, make_client, provider_hits):
    client = make_client()
    client.signing_key(active_kid(issuer))
    call_command("keys", "rotate", stdout=io.StringIO())
    call_command("keys", "rotate", stdout=io.StringIO())
    new_kid = active_kid(issuer)
    before = provider_hits.jwks

    assert client.signing_key(new_kid).kid == new_kid
    assert provider_hits.jwks == before + 1


@live
def test_an_outage_keeps_the_cached_keys_and_retries_after_the_cooldown(
    issuer, proxy, make_client, clock, provider_hits
):
    client = make_client(
        discovery_url=f"{proxy.url}/.well-known/openid-configuration", min_ttl=60, max_ttl=60, cooldown=30
    )
    kid = active_kid(issuer)
    client.signing_key(kid)

    proxy.set_mode("refuse")
    clock.advance(60)  # stale: must revalidate, cannot
    attempts = proxy.connections
    assert client.signing_key(kid).kid == kid
    assert proxy.connections > attempts  # it tried (discovery and key set are both stale)
    attempts = proxy.connections
    clock.advance(29)
    assert client.signing_key(kid).kid == kid
    assert proxy.connections == attempts  # no retry within the cooldown

    proxy.set_mode("forward")
    clock.advance(1)
    fetched = provider_hits.jwks
    assert client.signing_key(kid).kid == kid
    assert provider_hits.jwks == fetched + 1


@live
def test_nothing_cached_and_provider_unreachable_fails_fast_until_the_cooldown(
    issuer, proxy, make_client, clock
):
    proxy.set_mode("refuse")
    client = make_client(discovery_url=f"{proxy.url}/.well-known/openid-configuration", cooldown=30)
    with pytest.raises(KeysUnavailable):
        client.signing_key("any")
    attempts = proxy.connections

    clock.advance(29)
    with pytest.raises(KeysUnavailable, match="retrying after the cooldown"):
        client.signing_key("any")
    assert proxy.connections == attempts  # no new attempt: no request waits on a timeout

    proxy.set_mode("forward")
    clock.advance(1)
    kid = active_kid(issuer)
    assert client.signing_key(kid).kid == kid


@live
def test_discovery_must_name_the_configured_issuer(live_server, clock):
    other = live_server.url.replace("localhost", "127.0.0.1")
    client = JWKSClient(issuer=other, clock=clock)

    with pytest.raises(KeysUnavailable, match="names issuer"):
        client.signing_key("any")


@live
def test_server_to_server_calls_use_the_discovery_base_and_browsers_the_public_urls(
    issuer, proxy, make_client
):
    client = make_client(discovery_url=f"{proxy.url}/.well-known/openid-configuration")

    assert client.endpoint("authorization_endpoint") == f"{issuer}/authorize"
    assert client.endpoint("end_session_endpoint").startswith(issuer + "/")
    assert client.endpoint("token_endpoint", backchannel=True) == f"{proxy.url}/token"
    assert client.endpoint("token_endpoint") == f"{issuer}/token"


def rsa_jwk(**changes):
    key = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key().public_key(), as_dict=True)
    jwk = {**key, "kid": "k1", "alg": "RS256", "use": "sig", **changes}
    return {k: v for k, v in jwk.items() if v is not None}


def test_parse_jwks_keeps_only_public_signing_keys_of_allowed_algorithms():
    good = rsa_jwk()
    document = {
        "keys": [
            good,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},  # would make verification an HMAC
            rsa_jwk(kid="private", d="AQAB"),
            rsa_jwk(kid="encryption", use="enc"),
            rsa_jwk(kid="hs", alg="HS256"),
            rsa_jwk(kid=None),
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            "not a key",
        ]
    }

    assert list(parse_jwks(document, {"RS256"})) == ["k1"]


def test_parse_jwks_drops_a_kid_that_appears_twice():
    document = {"keys": [rsa_jwk(kid="k1"), rsa_jwk(kid="twin"), rsa_jwk(kid="twin")]}

    assert list(parse_jwks(document, {"RS256"})) == ["k1"]


@pytest.mark.parametrize(
    "document", [{}, {"keys": []}, {"keys": "x"}, {"keys": [{"kty": "oct", "kid": "a"}]}]
)
def test_parse_jwks_without_a_usable_key_is_an_error(document):
    with pytest.raises(JWKSError):
        parse_jwks(document, {"RS256"})


def test_parse_jwks_warns_once_about_a_short_rsa_key(caplog):
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = jwt.algorithms.RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(), as_dict=True
    )
    document = {"keys": [rsa_jwk(), {**short, "kid": "short", "alg": "RS256"}]}

    with caplog.at_level("WARNING", logger="sample_api.jwks"):
        assert list(parse_jwks(document, {"RS256"})) == ["k1", "short"]

    assert [r.getMessage() for r in caplog.records] == [
        "key short: The RSA key is 1024 bits long, which is below the minimum recommended size of "
        "2048 bits. See NIST SP 800-131A."
    ]
