"""accounts/hashers.py: Argon2id at SIGNET_ARGON2_* cost, and older hashes upgraded at sign-in."""

import pytest
from argon2 import extract_parameters
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password

from accounts.hashers import SignetArgon2PasswordHasher

PASSWORD = "correct horse battery staple"


@pytest.fixture
def signet_hashing(settings):
    # The test session puts a cheap hasher first (tests/conftest.py); here the production list applies.
    settings.PASSWORD_HASHERS = ["accounts.hashers.SignetArgon2PasswordHasher"]
    settings.SIGNET_ARGON2_MEMORY_KIB = 8192
    settings.SIGNET_ARGON2_TIME_COST = 3
    settings.SIGNET_ARGON2_PARALLELISM = 1


def _parameters(encoded):
    return extract_parameters("$" + encoded.split("$", 1)[1])


def test_the_production_default_is_owasp_argon2id():
    from django.conf import settings

    assert settings.SIGNET_ARGON2_MEMORY_KIB == 19456
    assert settings.SIGNET_ARGON2_TIME_COST == 2
    assert settings.SIGNET_ARGON2_PARALLELISM == 1
    assert "django.contrib.auth.hashers.Argon2PasswordHasher" not in settings.PASSWORD_HASHERS


def test_new_hashes_use_the_configured_cost(signet_hashing):
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$")
    parameters = _parameters(encoded)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (8192, 3, 1)
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "!", encoded)


def test_a_hash_made_with_djangos_defaults_verifies_and_is_upgraded(signet_hashing):
    old = Argon2PasswordHasher()
    old.memory_cost = 1024  # Django's parameters but cheaper memory: any other cost is "old"
    encoded = old.encode(PASSWORD, old.salt())
    upgraded = []
    assert check_password(PASSWORD, encoded, setter=upgraded.append)
    assert upgraded == [PASSWORD]  # Django re-hashes it with the preferred hasher
    assert SignetArgon2PasswordHasher().must_update(encoded)
    assert not SignetArgon2PasswordHasher().must_update(make_password(PASSWORD))
