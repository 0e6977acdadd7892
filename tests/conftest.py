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


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete_on_postgres():
    """Transactional and live-server tests empty every table after themselves (Django's flush). On
    PostgreSQL that is one TRUNCATE of all 34 tables: 0.2 s each time here, because TRUNCATE makes new
    files for every table. DELETE of the few rows a test leaves takes a few milliseconds, with the same
    result: in one transaction, foreign keys checked at its end, sequences kept as TRUNCATE keeps them
    (a test that asks for reset sequences gets Django's own statements)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return ["SET CONSTRAINTS ALL DEFERRED", *(f"DELETE FROM {self.quote_name(t)}" for t in tables)]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


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


# Fixtures that give a test the database (directly or through the fixtures they use).
DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(scope="session")
def _key_pool():
    from keys import crypto
    from tests.keys.pool import KeyPool

    return KeyPool(crypto.generate_rsa_key)


@pytest.fixture(autouse=True)
def _signing_keys(request, _key_pool, monkeypatch):
    """Each test database starts with an active and a next key, as a deployment's does (the container
    runs `manage.py keys rotate --if-due` before serving): reading the key ring never creates one.
    tests/keys overrides this to start from an empty ring."""
    if request.node.get_closest_marker("django_db") is None and not DATABASE_FIXTURES & set(
        request.fixturenames
    ):
        return
    request.getfixturevalue("db")
    from keys import services

    with monkeypatch.context() as patch:
        patch.setattr("keys.crypto.generate_rsa_key", _key_pool.dealer())
        services.key_ensure_active()


@pytest.fixture(autouse=True)
def maintenance_wakes(monkeypatch):
    """Key maintenance steps that reads asked for, recorded instead of run: a thread of its own would
    write on its own connection, outside the test's transaction. Tests run one with
    keys.maintenance.run()."""
    wakes = []

    def record(target):
        wakes.append(target)

    monkeypatch.setattr("keys.maintenance.start_thread", record)
    return wakes


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
