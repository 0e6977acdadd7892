"""Fixtures for the key ring's tests: a clock that moves on command, and named setting presets."""

import threading
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


class _KeyPool:
    """Real RSA keys, generated once per test session and handed out afresh to every test.

    Each test sees each key at most once (kids stay unique within a test, as generation guarantees),
    and its database is new, so reuse across tests changes nothing a test can observe. It spares
    the suite a 50-300 ms RSA generation for nearly every key a test creates.
    """

    def __init__(self, generate):
        self.generate = generate
        self.keys = {}
        self.lock = threading.Lock()

    def dealer(self):
        handed_out = {}

        def generate_rsa_key(size):
            with self.lock:
                pool = self.keys.setdefault(size, [])
                index = handed_out.get(size, 0)
                handed_out[size] = index + 1
                if index == len(pool):
                    pool.append(self.generate(size))
                kid, public, private = pool[index]
            return kid, dict(public), private

        return generate_rsa_key


@pytest.fixture(scope="session")
def _key_pool():
    from keys import crypto

    return _KeyPool(crypto.generate_rsa_key)


@pytest.fixture(autouse=True)
def _pooled_keys(_key_pool, monkeypatch):
    monkeypatch.setattr("keys.crypto.generate_rsa_key", _key_pool.dealer())
