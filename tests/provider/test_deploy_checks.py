"""`manage.py check --deploy`: clean in a production configuration; Signet's own warnings otherwise."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from keys import kek
from provider.checks import check_rate_limit_cache

ROOT = Path(__file__).resolve().parents[2]

# What the README's production section sets.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SIGNET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
    "OIDC_ISSUER": "https://id.example.com",
    "ALLOWED_HOSTS": "id.example.com",
    "SIGNET_HSTS_PRELOAD": "true",
    # Never connected to by `check`: only its presence (a cache shared by the workers) matters.
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
# Variables the test run itself sets (pyproject's pytest env) that must not leak into the child.
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "SIGNET_KEY_ENCRYPTION_KEY",
    "OIDC_ISSUER",
    "ALLOWED_HOSTS",
    "SIGNET_SECURE_COOKIES",
    "SIGNET_HTTP_REDIRECT_URIS",
    "DATABASE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def run(args, **overrides):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({"SIGNET_READ_DOT_ENV": "false", "DJANGO_SETTINGS_MODULE": "provider.settings"})
    env.update(PRODUCTION)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def check_deploy(**overrides):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **overrides)


def test_production_configuration_is_clean():
    result = check_deploy()
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"OIDC_ISSUER": "http://id.example.com"}, "signet.W101"),
        ({"DEBUG": "true"}, "signet.W102"),
        ({"ALLOWED_HOSTS": ""}, "signet.W103"),
        ({"REDIS_URL": ""}, "signet.W104"),
        ({"SIGNET_KEY_ENCRYPTION_KEY": kek.DEVELOPMENT_KEY}, "keys.W001"),
    ],
    ids=["http-issuer", "debug", "no-allowed-hosts", "rate-limits-without-shared-cache", "default-kek"],
)
def test_each_unsafe_setting_is_reported(overrides, check_id):
    result = check_deploy(**overrides)
    assert result.returncode != 0
    assert check_id in result.stderr + result.stdout


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_plain_http_issuer_on_loopback_is_fine(issuer):
    result = check_deploy(OIDC_ISSUER=issuer, SIGNET_SSL_REDIRECT="false")
    assert "signet.W101" not in result.stderr + result.stdout


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
REDIS = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}}


@pytest.mark.parametrize("caches", [LOCMEM, DUMMY], ids=["locmem", "dummy"])
def test_rate_limits_without_a_shared_cache_are_named_in_the_warning(settings, caches):
    """Finding 7: without Redis every worker counted on its own, and nothing said so."""
    settings.CACHES = caches
    settings.SIGNET_RATELIMIT_TOKEN = "10/m"
    settings.SIGNET_RATELIMIT_INTROSPECT = ""
    [warning] = check_rate_limit_cache(None)
    assert warning.id == "signet.W104" and "SIGNET_RATELIMIT_TOKEN" in warning.msg
    assert "SIGNET_RATELIMIT_INTROSPECT" not in warning.msg and "REDIS_URL" in warning.hint


def test_no_cache_warning_with_a_shared_cache_or_without_rate_limits(settings):
    settings.CACHES = REDIS
    assert check_rate_limit_cache(None) == []
    settings.CACHES = LOCMEM
    settings.SIGNET_RATELIMIT_TOKEN = settings.SIGNET_RATELIMIT_INTROSPECT = ""
    assert check_rate_limit_cache(None) == []


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES'])"
)


def test_https_issuer_turns_on_hsts_redirects_and_secure_cookies():
    result = run(["-c", SHOW])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True", "True", "True", "['https']"]


def test_http_issuer_in_development_keeps_plain_cookies():
    result = run(["-c", SHOW], DEBUG="true", OIDC_ISSUER="http://127.0.0.1:8000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "False", "False", "False", "['https',", "'http']"]


def test_empty_flags_as_in_env_example_mean_their_defaults():
    empty = {"SIGNET_SECURE_COOKIES": "", "SIGNET_SSL_REDIRECT": "", "SIGNET_HTTP_REDIRECT_URIS": ""}
    result = run(["-c", SHOW], **empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True", "True", "True", "['https']"]
    explicit = run(["-c", SHOW], SIGNET_SECURE_COOKIES="false", SIGNET_SSL_REDIRECT="0")
    assert explicit.stdout.split()[1:4] == ["False", "False", "False"]
