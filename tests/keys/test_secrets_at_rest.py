"""keys.crypto.encrypt_secret / decrypt_secret: another app's small secret (a TOTP seed) at rest under
the key-encryption key, bound to its purpose, opened by a fallback key after a KEK rotation."""

import base64
import json

import pytest

from keys import crypto
from tests.keys.conftest import OTHER_KEK

SEED = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_round_trip_and_no_plaintext_in_the_ciphertext():
    stored = crypto.encrypt_secret(SEED, purpose="totp:1")
    assert SEED.decode() not in stored and base64.b64encode(SEED).decode() not in stored
    assert crypto.decrypt_secret(stored, purpose="totp:1") == SEED
    header = json.loads(base64.urlsafe_b64decode(stored.split(".")[0] + "=="))
    assert header == {"alg": "dir", "enc": "A256GCM", "signet_purpose": "totp:1"}


def test_a_ciphertext_moved_to_another_purpose_is_refused():
    stored = crypto.encrypt_secret(SEED, purpose="totp:1")
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_secret(stored, purpose="totp:2")


def test_an_edited_header_fails_the_tag():
    stored = crypto.encrypt_secret(SEED, purpose="totp:1")
    forged = base64.urlsafe_b64encode(
        json.dumps({"alg": "dir", "enc": "A256GCM", "signet_purpose": "totp:2"}).encode()
    ).rstrip(b"=")
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_secret(forged.decode() + stored[stored.index(".") :], purpose="totp:2")


def test_a_rotated_kek_opens_old_secrets_through_the_fallbacks(settings):
    stored = crypto.encrypt_secret(SEED, purpose="totp:1")
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_secret(stored, purpose="totp:1")
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    assert crypto.decrypt_secret(stored, purpose="totp:1") == SEED


@pytest.mark.parametrize("garbage", ["", "not a jwe", "a.b.c.d.e", None])
def test_garbage_is_a_decryption_error(garbage):
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_secret(garbage, purpose="totp:1")
