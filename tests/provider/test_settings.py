"""Settings come from the environment; a missing required one stops start-up and names itself."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "SECRET_KEY": "s" * 50,
    "OIDC_ISSUER": "https://id.example.com",
    "SIGNET_KEY_ENCRYPTION_KEY": "K37oxdxS4VDLvgFUMIcC47aRMpQP774ywk2v83FK9VU=",  # 32 bytes, base64
}


def _load_settings(env_overrides, code="print('ok')"):
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED and k not in ("DEBUG", "DATABASE_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "provider.settings", "SIGNET_READ_DOT_ENV": "false"})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_required_setting_names_the_variable(missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    result = _load_settings({**env, "DEBUG": "false"})
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr
    assert "Traceback" in result.stderr  # ImproperlyConfigured at import: start-up stops


def test_production_settings_load_when_all_required_are_set():
    result = _load_settings(
        {**REQUIRED, "DEBUG": "false", "DATABASE_URL": "postgres://u@db.example.com:5432/signet"},
        code="print(settings.DATABASES['default']['ENGINE'], settings.OIDC_ISSUER, settings.DEBUG)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "https://id.example.com", "False"]


def test_debug_gives_development_defaults_and_sqlite():
    result = _load_settings(
        {"DEBUG": "true"},
        code="print(settings.OIDC_ISSUER, settings.DATABASES['default']['ENGINE'], "
        "settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["http://127.0.0.1:8000", "django.db.backends.sqlite3", "LocMemCache"]


def test_issuer_trailing_slash_is_dropped_so_urls_derive_exactly():
    result = _load_settings(
        {**REQUIRED, "OIDC_ISSUER": "https://id.example.com/tenant/", "DEBUG": "false"},
        code="print(settings.OIDC_ISSUER, settings.OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["https://id.example.com/tenant", "https://id.example.com/tenant"]


def test_redis_url_selects_the_redis_cache():
    result = _load_settings(
        {**REQUIRED, "REDIS_URL": "redis://127.0.0.1:6379/3"},
        code="print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django_redis.cache.RedisCache", "redis://127.0.0.1:6379/3"]


def test_env_example_lists_every_variable_settings_reads():
    source = (ROOT / "provider" / "settings.py").read_text()
    example = (ROOT / ".env.example").read_text()
    import re

    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_][A-Z0-9_]*)"', source))
    read |= set(re.findall(r'_required\(\s*"([A-Z_][A-Z0-9_]*)"', source))
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert read, "the pattern found no variables: the test itself is broken"
    assert read - listed == set(), f"missing from .env.example: {sorted(read - listed)}"


def test_off_turns_a_rate_limit_off_and_empty_keeps_the_default():
    result = _load_settings(
        {**REQUIRED, "SIGNET_RATELIMIT_TOKEN": "off", "SIGNET_RATELIMIT_INTROSPECT": ""},
        code="print(repr(settings.SIGNET_RATELIMIT_TOKEN), settings.SIGNET_RATELIMIT_INTROSPECT)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "3000/m"]


@pytest.mark.parametrize(
    ("value", "loaded", "refusal"),
    [
        ("RS256,ES256,EdDSA", "('RS256', 'ES256', 'EdDSA')", None),
        ("RS256,ES256,RS256", "('RS256', 'ES256')", None),
        ("ES256,EdDSA", None, "SIGNET_SIGNING_ALGS must include RS256"),
        ("RS256,HS256", None, "SIGNET_SIGNING_ALGS: unknown algorithm(s) HS256"),
    ],
)
def test_signing_algorithms_are_known_ones_and_include_rs256(value, loaded, refusal):
    result = _load_settings(
        {"DEBUG": "true", "SIGNET_SIGNING_ALGS": value}, code="print(settings.SIGNET_SIGNING_ALGS)"
    )
    if refusal is None:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == loaded
    else:
        assert result.returncode != 0 and refusal in result.stderr
