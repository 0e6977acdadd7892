"""keys/checks.py: configuration mistakes fail at start-up, stored keys are checked with --database."""

import base64

import pytest
from django.core import checks
from django.db import IntegrityError, connection, transaction

from keys import kek, services
from keys.models import SigningKey
from tests.keys.conftest import OTHER_KEK as NEW_KEK
from tests.keys.legacy import PASSPHRASE


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
    settings.SIGNET_KEY_ENCRYPTION_KEY = kek.DEVELOPMENT_KEY
    assert "keys.W001" not in ids()
    assert "keys.W001" in ids(deploy=True)
    # The same 32 bytes in the other alphabet are the same public key.
    settings.SIGNET_KEY_ENCRYPTION_KEY = base64.standard_b64encode(kek.DEVELOPMENT_BYTES).decode()
    assert "keys.W001" in ids(deploy=True)


@pytest.mark.parametrize("value", ["too-short", PASSPHRASE, "k" * 44])
def test_a_current_kek_that_is_not_32_random_bytes_is_an_error(settings, value):
    # Settings refuse it at start-up (tests/keys/test_kek.py); the check covers values set otherwise.
    settings.SIGNET_KEY_ENCRYPTION_KEY = value
    assert "keys.E002" in ids()


def test_a_passphrase_among_the_fallbacks_is_a_warning_not_an_error(settings):
    # An upgrading deployment keeps its passphrase there until `keys reencrypt` has run.
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [PASSPHRASE]
    found = ids()
    assert "keys.W010" in found and "keys.E002" not in found
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [NEW_KEK]
    assert ids() == set()


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
    assert "keys.W006" in ids(database=True)  # no key yet: nothing can sign
    services.key_ensure_active()
    assert ids(database=True) == set()


@pytest.mark.django_db
def test_two_active_keys_are_an_error():
    services.key_ensure_active()
    with connection.cursor() as cursor:
        # Only a database that lost the partial unique index could hold two; the check still says so.
        # (The test's transaction rolls the DROP back.)
        cursor.execute('DROP INDEX "keys_one_active_key_per_alg"')
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
