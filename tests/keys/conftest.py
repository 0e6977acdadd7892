"""Fixtures for the key ring's tests: a clock that moves on command, and named setting presets."""

from datetime import timedelta

import pytest
from django.utils import timezone

# Named setting presets (see DESIGN.md, example 9).
RELOAD_EVERY_CALL = {"SIGNET_KEY_RELOAD_SECONDS": 0}  # every call re-reads the ring's version
RELOAD_NEVER = {"SIGNET_KEY_RELOAD_SECONDS": 3600}  # only an explicit invalidate() re-reads it
# Key-encryption keys besides the suite's own (pyproject.toml), pinned: 32 bytes, base64.
OTHER_KEK = "iaNfesRUDAZbFDj0S1y3noBoQmPCSYqH-YkEQG0bUQg="
THIRD_KEK = "K37oxdxS4VDLvgFUMIcC47aRMpQP774ywk2v83FK9VU="
SHORT_SCHEDULE = {
    "SIGNET_KEY_ROTATION_DAYS": 1,
    "SIGNET_KEY_PREPUBLISH_SECONDS": 3600,
    "SIGNET_JWKS_MAX_AGE": 600,
}


class Clock:
    """Stands in for keys.clock.now; `advance()` moves time without sleeping."""

    def __init__(self, start):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **delta):
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(timezone.now())
    monkeypatch.setattr("keys.clock.now", fake)
    return fake


@pytest.fixture
def preset(settings):
    """Apply named setting presets: preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)."""

    def apply(*presets):
        for values in presets:
            for name, value in values.items():
                setattr(settings, name, value)

    return apply


@pytest.fixture(autouse=True)
def _pooled_keys(_key_pool, monkeypatch):
    monkeypatch.setattr("keys.crypto.generate_rsa_key", _key_pool.dealer())


@pytest.fixture(autouse=True)
def _signing_keys():
    """The key ring's own tests start from an empty ring (see tests/conftest.py): they make the keys
    they need with `ring` or a service."""


@pytest.fixture
def ring(db):
    """An active and a next key, as every deployment has them after `keys ensure`; returns the active."""
    from keys import services

    return services.key_ensure_active()
