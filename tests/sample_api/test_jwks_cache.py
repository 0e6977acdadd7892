"""The sample API's key cache, seen from outside: rotations, forged-kid floods and provider outages.

JWKS fetches are counted where they arrive, at the provider (`provider_hits`); outages are made by
a TCP proxy between the sample API and the provider (`proxy`), which the sample API reaches through
RESOURCE_DISCOVERY_URL exactly as it reaches `provider:8000` under docker-compose.
"""

import io
import secrets
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from django.core.management import call_command

from tests.sample_api.conftest import AUDIENCE
from tests.sample_api.tokens import access_claims, api_client, client_credentials_token, own_signed, rsa_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token_for(issuer):
    client, secret = api_client(AUDIENCE)
    return lambda: client_credentials_token(issuer, client, secret)


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def through(proxy):
    return {"RESOURCE_DISCOVERY_URL": f"{proxy.url}/.well-known/openid-configuration"}


def test_a_rotated_key_is_accepted_after_exactly_one_refetch(sample_api, token_for, provider_hits):
    first = token_for()
    assert sample_api.get("/hello/", first).status_code == 200
    assert provider_hits.jwks == 1

    # The next key was published from the start, so the first rotation needs no refetch at all.
    call_command("keys", "rotate", stdout=io.StringIO())
    prepublished = token_for()
    assert kid_of(prepublished) != kid_of(first)
    assert sample_api.get("/hello/", prepublished).status_code == 200
    assert provider_hits.jwks == 1

    # Rotating again at once activates a key created after this process fetched the set.
    call_command("keys", "rotate", stdout=io.StringIO())
    unseen = token_for()
    assert kid_of(unseen) not in {kid_of(first), kid_of(prepublished)}
    assert sample_api.get("/hello/", unseen).status_code == 200
    assert provider_hits.jwks == 2  # exactly one refetch
    assert sample_api.get("/hello/", unseen).status_code == 200
    assert sample_api.get("/hello/", first).status_code == 200  # retired keys still verify their tokens
    assert provider_hits.jwks == 2


def test_a_burst_of_unknown_kids_makes_at_most_one_fetch_per_cooldown(
    issuer, sample_api_factory, token_for, provider_hits
):
    api = sample_api_factory(RESOURCE_JWKS_COOLDOWN=300)
    assert api.get("/hello/", token_for()).status_code == 200
    assert provider_hits.jwks == 1
    key = rsa_key()
    forged = [
        own_signed(access_claims(issuer, AUDIENCE), key, kid=secrets.token_urlsafe(32)) for _ in range(100)
    ]

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda token: api.get("/hello/", token), forged))

    assert [r.status_code for r in responses] == [401] * 100
    assert all('error="invalid_token"' in r.headers["WWW-Authenticate"] for r in responses)
    # One refetch for the first unknown kid (it might have been a rotation), then none within the cooldown.
    assert provider_hits.jwks == 2
    assert api.get("/hello/", token_for()).status_code == 200
    assert provider_hits.jwks == 2


def test_the_cache_revalidates_with_the_etag(settings, sample_api_factory, proxy, token_for, provider_hits):
    settings.SIGNET_JWKS_MAX_AGE = 0  # the provider asks caches to revalidate every time
    api = sample_api_factory(**through(proxy), RESOURCE_JWKS_MIN_TTL=0)
    token = token_for()

    for _ in range(3):
        assert api.get("/hello/", token).status_code == 200

    assert provider_hits.jwks == 3
    assert provider_hits.conditional["/jwks"] == 2  # If-None-Match after the first fetch (304)


def test_a_refusing_provider_leaves_the_cached_keys_serving(
    settings, sample_api_factory, proxy, token_for, provider_hits
):
    settings.SIGNET_JWKS_MAX_AGE = 0
    api = sample_api_factory(**through(proxy), RESOURCE_JWKS_MIN_TTL=0, RESOURCE_JWKS_COOLDOWN=0)
    token = token_for()
    assert api.get("/hello/", token).status_code == 200
    fetched = provider_hits.jwks

    proxy.set_mode("refuse")
    attempts = proxy.connections
    for _ in range(3):
        assert api.get("/hello/", token).status_code == 200
    assert proxy.connections - attempts >= 3  # it did try to revalidate each time (cooldown 0)...
    assert provider_hits.jwks == fetched  # ...and none got through

    proxy.set_mode("forward")
    assert api.get("/hello/", token).status_code == 200
    assert provider_hits.jwks == fetched + 1  # back: revalidates again
    assert "JWKS refresh failed, keeping the cached key set" in api.log()


def test_a_hanging_provider_times_out_and_is_retried_once_per_cooldown(
    settings, sample_api_factory, proxy, token_for
):
    settings.SIGNET_JWKS_MAX_AGE = 0
    api = sample_api_factory(
        **through(proxy), RESOURCE_JWKS_MIN_TTL=0, RESOURCE_JWKS_COOLDOWN=300, RESOURCE_HTTP_TIMEOUT=1
    )
    token = token_for()
    assert api.get("/hello/", token).status_code == 200

    proxy.set_mode("hang")
    attempts = proxy.connections
    for _ in range(3):
        assert api.get("/hello/", token).status_code == 200

    assert proxy.connections - attempts == 1  # one attempt, then the cooldown
    assert "timed out" in api.log()


def test_with_no_cached_keys_an_unreachable_provider_is_503_not_a_crash(sample_api_factory, proxy, token_for):
    proxy.set_mode("refuse")
    api = sample_api_factory(**through(proxy))

    response = api.get("/hello/", token_for())

    assert response.status_code == 503
    assert response.json()["detail"].startswith("The token cannot be verified right now")


def test_discovery_naming_another_issuer_is_refused(live_server, sample_api_factory, token_for):
    # The sample API trusts "http://127.0.0.1:<port>" but the provider calls itself "http://localhost:<port>".
    api = sample_api_factory(RESOURCE_ISSUER=live_server.url.replace("localhost", "127.0.0.1"))

    assert api.get("/hello/", token_for()).status_code == 503
    assert "names issuer" in api.log()
