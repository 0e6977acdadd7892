"""Fixtures for the key ring's tests: a clock that moves on command, and named setting presets."""

from datetime import timedelta

import pytest
from django.utils import timezone

# Named setting presets (see DESIGN.md, example 9).
RELOAD_EVERY_CALL = {"SIGNET_KEY_RELOAD_SECONDS": 0}  # every call re-reads the ring's version
RELOAD_NEVER = {"SIGNET_KEY_RELOAD_SECONDS": 3600}  # only an explicit invalidate() re-reads it
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
