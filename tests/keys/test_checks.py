"""keys/checks.py: configuration mistakes fail at start-up, stored keys are checked with --database."""

import pytest
from django.core import checks
from django.db import IntegrityError, connection, transaction

from keys import selectors, services
from keys.models import SigningKey

NEW_KEK = "the-next-key-encryption-key-0123456789abcdef"


def ids(*, deploy=False, database=False):
    messages = checks.run_checks(
        include_deployment_checks=deploy, databases=["default"] if database else None
    )
    return {m.id for m in messages if m.id and m.id.startswith("keys.")}


def test_the_test_configuration_is_clean():
    assert ids(deploy=True) == set()


def test_prepublication_shorter_than_the_jwks_cache_is_an_error(settings):
    settings.SIGNET_JWKS_MAX_AGE = 600
    settings.SIGNET_KEY_PREPUBLISH_SECONDS = 599
    assert "keys.E003" in ids()
    settings.SIGNET_KEY_PREPUBLISH_SECONDS = 600
    assert "keys.E003" not in ids()


def test_development_kek_warns_under_deploy_only(settings):
    settings.SIGNET_KEY_ENCRYPTION_KEY = "insecure-development-key-encryption-key-derived-for-debug"
    assert "keys.W001" not in ids()
    assert "keys.W001" in ids(deploy=True)


def test_short_keks_are_errors(settings):
    settings.SIGNET_KEY_ENCRYPTION_KEY = "too-short"
    assert "keys.E002" in ids()
    settings.SIGNET_KEY_ENCRYPTION_KEY = NEW_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = ["short"]
    assert "keys.E002" in ids()


@pytest.mark.parametrize(
    ("name", "value", "check"),
    [
        ("SIGNET_KEY_SIZE", 1024, "keys.E004"),
        ("SIGNET_KEY_ROTATION_DAYS", 0, "keys.E008"),
        ("SIGNET_KEY_RELOAD_SECONDS", -1, "keys.E009"),
    ],
)
def test_bad_numbers(settings, name, value, check):
    setattr(settings, name, value)
    assert check in ids()


@pytest.mark.django_db
def test_database_checks_only_run_with_database():
    assert "keys.W006" not in ids()
    assert "keys.W006" in ids(database=True)  # no key yet: one is created on first use
    selectors.active_signing_key()
    assert ids(database=True) == set()


@pytest.mark.django_db
def test_two_active_keys_are_an_error():
    services.key_ensure_active()
    with connection.cursor() as cursor:
        # Only a database that lost the partial unique index could hold two; the check still says so.
        # (The test's transaction rolls the DROP back.)
        cursor.execute('DROP INDEX "keys_one_active_key"')
    SigningKey.objects.filter(state=SigningKey.State.NEXT).update(state=SigningKey.State.ACTIVE)
    assert "keys.E005" in ids(database=True)


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_key():
    services.key_ensure_active()
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.filter(state=SigningKey.State.NEXT).update(state=SigningKey.State.ACTIVE)


@pytest.mark.django_db
def test_keys_no_configured_kek_can_open_are_an_error(settings):
    services.key_ensure_active()
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = NEW_KEK
    assert "keys.E007" in ids(database=True)
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    found = ids(database=True)
    assert "keys.E007" not in found and "keys.W008" in found  # usable; re-encrypt advised
    services.key_reencrypt_all()
    assert ids(database=True) == set()
