"""What a key-encryption key must look like: 32 random bytes, base64 (standard or URL-safe alphabet,
padding optional), exactly as a generator writes them.

A value a person chose (a passphrase) can be guessed offline from a database dump: every stored
ciphertext is a test for a guess. Only a generated 256-bit value ends that, and the format is how a
start-up can tell: provider/settings.py refuses anything else with one line. A previous value of any
shape is still accepted in SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS, to decrypt the rows it encrypted
until `manage.py keys reencrypt` has moved them (keys/crypto.py, keys/checks.py).

Imports nothing from Django or jwcrypto: the settings module uses it before Django is set up.
"""

import base64
import binascii
import re
import sys

NAME = "SIGNET_KEY_ENCRYPTION_KEY"
KEY_BYTES = 32
GENERATE_COMMAND = (
    'python -c "import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)
# What DEBUG uses when the variable is unset. It is public (it is in this file), so keys.W001 flags
# it under `check --deploy`; its 32 bytes say what it is to anyone who decodes it.
DEVELOPMENT_BYTES = b"signet-INSECURE-development-kek!"
DEVELOPMENT_KEY = base64.urlsafe_b64encode(DEVELOPMENT_BYTES).decode("ascii")
# The development default before this module: development databases from then still open under it.
LEGACY_DEVELOPMENT_VALUE = "insecure-development-key-encryption-key-derived-for-debug"

# 32 bytes are 43 base64 characters and one "=" of padding; one alphabet per value.
_STANDARD = re.compile(r"[A-Za-z0-9+/]{43}=?")
_URLSAFE = re.compile(r"[A-Za-z0-9_-]{43}=?")


def decode(value):
    """The 32 bytes a value encodes, or None when it is not a base64 encoding of exactly 32 bytes."""
    if not isinstance(value, str):
        return None
    if _URLSAFE.fullmatch(value):
        decoder = base64.urlsafe_b64decode
    elif _STANDARD.fullmatch(value):
        decoder = base64.standard_b64decode
    else:
        return None
    body = value.rstrip("=")
    try:
        raw = decoder(body + "=")
    except (binascii.Error, ValueError):
        return None
    # The last character carries 2 unused bits that every encoder leaves at zero: one that sets them
    # was typed, not generated.
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != body.replace("+", "-").replace("/", "_"):
        return None
    return raw


def problem(value):
    """Why a value cannot be the key-encryption key, in one line naming the variable; None if it can."""
    if decode(value) is not None:
        return None
    return (
        f"{NAME} must be {KEY_BYTES} random bytes, base64-encoded; generate one with: {GENERATE_COMMAND} "
        f"(an earlier value goes in {NAME}_FALLBACKS until `manage.py keys reencrypt` has run; see README)"
    )


def required(value):
    """The value if it is a proper key-encryption key; otherwise one line on stderr and no start-up.

    Exit status 3 is gunicorn's "worker failed to boot": its arbiter stops instead of respawning
    workers that can only fail the same way. No traceback: there is nothing in it to debug.
    """
    message = problem(value)
    if message is None:
        return value
    sys.stderr.write(message + "\n")
    raise SystemExit(3)
