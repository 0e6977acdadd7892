"""keys/kek.py: the key-encryption key is 32 random bytes, base64; anything else stops start-up."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keys import kek
from tests.keys.legacy import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
# Pinned 32-byte values whose encodings use every alphabet's special characters.
STANDARD = base64.standard_b64encode(bytes(range(200, 232))).decode()
URLSAFE = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
assert {"+", "/", "="} <= set(STANDARD) and {"-", "_", "="} <= set(URLSAFE)


@pytest.mark.parametrize(
    "value",
    [STANDARD, URLSAFE, STANDARD.rstrip("="), URLSAFE.rstrip("="), kek.DEVELOPMENT_KEY],
    ids=["standard", "urlsafe", "standard-unpadded", "urlsafe-unpadded", "development-default"],
)
def test_32_bytes_in_either_base64_alphabet_are_accepted(value):
    assert kek.decode(value) is not None and len(kek.decode(value)) == 32
    assert kek.problem(value) is None


def test_the_documented_generator_writes_an_accepted_value():
    # The generator's expression, with its random bytes pinned (an all-0xff key holds "_" and "=").
    for raw in (b"\xff" * 32, b"\x00" * 32, bytes(range(32))):
        assert kek.decode(base64.urlsafe_b64encode(raw).decode()) == raw
    assert "secrets.token_bytes(32)" in kek.GENERATE_COMMAND


@pytest.mark.parametrize(
    "value",
    [
        "",
        PASSPHRASE,
        "test-key-encryption-key-0123456789abcdef0123",  # the suite's old value: 44 characters
        "k" * 40,
        base64.urlsafe_b64encode(b"x" * 31).decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        base64.urlsafe_b64encode(b"x" * 48).decode(),  # README's old advice: token_urlsafe(48)
        base64.urlsafe_b64encode(b"x" * 64).decode(),
        URLSAFE[:-2] + "B=",  # the unused low bits set: typed, not generated
        STANDARD.replace("/", "_", 1),  # two alphabets in one value
        " " + URLSAFE,
        URLSAFE + "\n",
        URLSAFE + "==",
        URLSAFE.rstrip("=") + "\u00e9",
    ],
)
def test_anything_else_is_refused(value):
    assert kek.decode(value) is None
    assert kek.problem(value) is not None


def test_the_refusal_is_one_line_that_names_the_variable_and_says_how_to_generate_one():
    message = kek.problem(PASSPHRASE)
    assert "\n" not in message
    assert message.startswith("SIGNET_KEY_ENCRYPTION_KEY must be 32 random bytes, base64-encoded")
    assert kek.GENERATE_COMMAND in message
    assert "SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS" in message and "keys reencrypt" in message
    assert PASSPHRASE not in message  # never echo a secret


def _start(kek_value, *, debug="false"):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SIGNET_KEY_ENCRYPTION_KEY", "SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS", "DEBUG")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "provider.settings",
            "SIGNET_READ_DOT_ENV": "false",
            "SECRET_KEY": "s" * 50,
            "OIDC_ISSUER": "https://id.example.com",
            "DEBUG": debug,
        }
    )
    if kek_value is not None:
        env["SIGNET_KEY_ENCRYPTION_KEY"] = kek_value
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SIGNET_KEY_ENCRYPTION_KEY == 'unused')",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "value",
    [PASSPHRASE, "k" * 40, base64.urlsafe_b64encode(b"x" * 48).decode(), "c2hvcnQ="],
    ids=["passphrase", "repeated", "48-bytes", "short-base64"],
)
@pytest.mark.parametrize("debug", ["false", "true"])
def test_a_weak_key_stops_start_up_with_one_line_and_no_traceback(value, debug):
    result = _start(value, debug=debug)
    assert result.returncode == 3  # gunicorn's "worker failed to boot": its arbiter halts
    assert result.stdout == ""
    assert result.stderr.splitlines() == [kek.problem(value)]
    assert "Traceback" not in result.stderr


def test_a_generated_key_starts():
    result = _start(URLSAFE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


def test_debug_without_a_key_starts_on_the_public_development_default():
    result = _start(None, debug="true")
    assert result.returncode == 0, result.stderr
