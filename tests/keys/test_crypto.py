"""keys/crypto.py: key generation, RFC 7638 kids, encryption at rest under a rotatable KEK."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_encode

from keys import crypto

OTHER_KEK = "another-key-encryption-key-0123456789abcdef-xyz"


@pytest.fixture(scope="module")
def generated():
    return crypto.generate_rsa_key(2048)


def b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_kid_is_the_rfc7638_thumbprint_of_the_public_key(generated):
    kid, public, _private = generated
    # RFC 7638 3.1: SHA-256 of the required members, lexicographic order, no whitespace.
    canonical = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":"))
    assert kid == base64url_encode(hashlib.sha256(canonical.encode()).digest())
    assert public["kid"] == kid


def test_public_jwk_has_public_members_only(generated):
    _kid, public, private = generated
    assert set(public) == {"kty", "kid", "use", "alg", "n", "e"}
    assert public["use"] == "sig" and public["alg"] == "RS256"
    assert "d" in private.export_private(as_dict=True)  # the private half does exist, elsewhere


def test_key_sizes(generated):
    _kid, public, _private = generated
    assert len(b64decode(public["n"])) * 8 == 2048
    _kid, public, _private = crypto.generate_rsa_key(3072)
    assert len(b64decode(public["n"])) * 8 == 3072


def test_private_key_round_trips_through_a_dir_a256gcm_jwe(generated):
    _kid, _public, private = generated
    ciphertext = crypto.encrypt_private_key(private)
    parts = ciphertext.split(".")
    assert len(parts) == 5 and parts[1] == ""  # compact JWE, "dir": no encrypted key
    header = json.loads(b64decode(parts[0]))
    assert header == {"alg": "dir", "enc": "A256GCM", "kid": crypto.configured_kek_ids()[0]}
    assert crypto.decrypt_private_key(ciphertext).export_private(as_dict=True) == private.export_private(
        as_dict=True
    )


def test_ciphertext_does_not_contain_the_private_exponent(generated):
    _kid, _public, private = generated
    ciphertext = crypto.encrypt_private_key(private)
    d = private.export_private(as_dict=True)["d"]
    assert d not in ciphertext
    assert all(d.encode() not in b64decode(part) for part in ciphertext.split("."))


def test_each_encryption_uses_a_fresh_iv(generated):
    _kid, _public, private = generated
    first, second = crypto.encrypt_private_key(private), crypto.encrypt_private_key(private)
    assert first.split(".")[2] != second.split(".")[2]


def test_another_kek_cannot_open_it(generated, settings):
    _kid, _public, private = generated
    ciphertext = crypto.encrypt_private_key(private)
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(crypto.KeyDecryptionError, match="no configured"):
        crypto.decrypt_private_key(ciphertext)


def test_a_wrong_key_under_the_right_kek_id_fails_authentication(generated):
    # Even if the header's KEK id is forged to match, AES-GCM refuses a key that did not encrypt it.
    _kid, _public, private = generated
    ciphertext = crypto.encrypt_private_key(private)
    wrong = jwk.JWK.generate(kty="oct", size=256)
    header = json.loads(b64decode(ciphertext.split(".")[0]))
    forged = jwe.JWE(b"{}", protected=json.dumps(header))
    forged.add_recipient(wrong)
    with pytest.raises(crypto.KeyDecryptionError, match="failed to decrypt"):
        crypto.decrypt_private_key(forged.serialize(compact=True))


def test_tampered_ciphertext_is_refused(generated):
    _kid, _public, private = generated
    parts = crypto.encrypt_private_key(private).split(".")
    body = bytearray(b64decode(parts[3]))
    body[10] ^= 1
    parts[3] = base64url_encode(bytes(body))
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(".".join(parts))


@pytest.mark.parametrize("garbage", ["", "not a jwe", "a.b.c.d.e", "{}"])
def test_garbage_is_refused(garbage):
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(garbage)


def test_other_wrapping_algorithms_are_refused(generated, settings):
    # Only dir + A256GCM is accepted at rest, so a row cannot steer decryption to a weaker scheme.
    _kid, _public, private = generated
    key_id, kek = crypto._kek(settings.SIGNET_KEY_ENCRYPTION_KEY)
    token = jwe.JWE(
        private.export_private().encode(),
        protected=json.dumps({"alg": "A256KW", "enc": "A256GCM", "kid": key_id}),
    )
    token.add_recipient(kek)  # the right key, the wrong scheme
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(token.serialize(compact=True))


def test_a_fallback_kek_still_decrypts_and_is_reported_as_not_current(generated, settings):
    _kid, _public, private = generated
    ciphertext = crypto.encrypt_private_key(private)
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    assert not crypto.encrypted_with_current_kek(ciphertext)
    assert crypto.decrypt_private_key(ciphertext).thumbprint() == private.thumbprint()
    assert crypto.encrypted_with_current_kek(crypto.encrypt_private_key(private))


def test_kek_ids_differ_per_secret_and_do_not_reveal_it(settings):
    first = crypto.configured_kek_ids()[0]
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    second = crypto.configured_kek_ids()[0]
    assert first != second and len(first) == 16
    assert OTHER_KEK not in second and hashlib.sha256(OTHER_KEK.encode()).hexdigest()[:16] != second


def test_rs256_signature_verifies_with_the_public_key(generated):
    _kid, _public, private = generated
    signature = crypto.sign("RS256", crypto.signer_for(private), b"header.payload")
    public_key = private.get_op_key("verify")
    public_key.verify(signature, b"header.payload", padding.PKCS1v15(), hashes.SHA256())


def test_unsupported_signing_algorithm(generated):
    _kid, _public, private = generated
    with pytest.raises(ValueError, match="unsupported"):
        crypto.sign("none", crypto.signer_for(private), b"x")
