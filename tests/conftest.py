import pytest

from tests.support.browser import Browser

# Every log record of the run is scanned for secrets (tokens, private keys, the test password).
pytest_plugins = ["tests.support.log_scan"]

PASSWORD = "correct horse battery staple 42"
REDIRECT_URI = "https://rp.example.com/callback"
POST_LOGOUT_URI = "https://rp.example.com/signed-out"


def pytest_runtest_setup(item):
    """Tests marked `postgres` need real row locks: skip them when the suite runs on SQLite."""
    if item.get_closest_marker("postgres") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...)")


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` (the long soak runs) run only when asked for: `-m slow` or `./dev soak`."""
    markexpr = config.getoption("markexpr") or ""
    if "slow" in markexpr and "not slow" not in markexpr:
        return
    skip = pytest.mark.skip(reason="long run: select it with -m slow (./dev soak)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Argon2 at test cost: production keeps Django's parameters (settings.PASSWORD_HASHERS)."""
    from django.conf import settings
    from django.test import override_settings

    hashers = ["tests.support.hashers.CheapArgon2PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True)
def _fresh_django_cache():
    """Each test starts with an empty cache: rate-limit counters must not leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Each test starts with an empty per-process key cache (the database is reset between tests)."""
    from keys.selectors import reset_cache

    reset_cache()
    yield
    reset_cache()


@pytest.fixture(autouse=True)
def _fresh_client_cache():
    """Each test starts with no cached client: the database is reset between tests without signals."""
    from provider.oidc import client_cache

    client_cache.clear()
    yield
    client_cache.clear()


@pytest.fixture
def issuer(live_server, settings):
    """Serve the provider on a live port and make that URL the issuer."""
    url = live_server.url
    settings.OIDC_ISSUER = url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": url}
    return url


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(
        "alice@example.com", PASSWORD, first_name="Alice", last_name="Liddell", email_verified=True
    )


@pytest.fixture
def rp_client(db):
    """A confidential relying party; returns (client, plaintext secret)."""
    from provider.oidc.services import client_create

    return client_create(
        name="Example RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
        audiences=["https://api.example.com"],
    )


@pytest.fixture
def browser(issuer):
    return Browser(issuer)
