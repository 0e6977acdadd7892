"""keys/crypto.py: key generation, RFC 7638 kids, encryption at rest bound to its row, KEK rotation."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_encode

from keys import crypto
from tests.keys.conftest import OTHER_KEK, THIRD_KEK
from tests.keys.legacy import PASSPHRASE, legacy_ciphertext


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


def seal(generated, **kwargs):
    kid, public, private = generated
    return crypto.encrypt_private_key(private, kid=kid, **kwargs)


def unseal(generated, ciphertext):
    kid, public, _private = generated
    return crypto.decrypt_private_key(ciphertext, kid=kid, public_jwk=public)


def test_private_key_round_trips_through_a_dir_a256gcm_jwe(generated):
    kid, _public, private = generated
    ciphertext = seal(generated)
    parts = ciphertext.split(".")
    assert len(parts) == 5 and parts[1] == ""  # compact JWE, "dir": no encrypted key
    header = json.loads(b64decode(parts[0]))
    # The row's kid, authenticated as AAD; nothing about the key-encryption key.
    assert header == {"alg": "dir", "enc": "A256GCM", "signing_kid": kid}
    assert unseal(generated, ciphertext).export_private(as_dict=True) == private.export_private(as_dict=True)


def test_the_header_holds_nothing_derived_from_the_kek(generated, settings):
    under_one = json.loads(b64decode(seal(generated).split(".")[0]))
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    under_other = json.loads(b64decode(seal(generated).split(".")[0]))
    assert under_one == under_other  # the same header whichever key encrypted it


def test_a_kid_that_is_not_the_keys_thumbprint_is_refused_on_the_way_in(generated):
    _kid, _public, private = generated
    with pytest.raises(ValueError, match="thumbprint"):
        crypto.encrypt_private_key(private, kid="another-kid")


def test_ciphertext_does_not_contain_the_private_exponent(generated):
    _kid, _public, private = generated
    ciphertext = seal(generated)
    d = private.export_private(as_dict=True)["d"]
    assert d not in ciphertext
    assert all(d.encode() not in b64decode(part) for part in ciphertext.split("."))


def test_each_encryption_uses_a_fresh_iv(generated):
    first, second = seal(generated), seal(generated)
    assert first.split(".")[2] != second.split(".")[2]


def test_another_kek_cannot_open_it(generated, settings):
    ciphertext = seal(generated)
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(crypto.KeyDecryptionError, match="no configured"):
        unseal(generated, ciphertext)


def test_a_forged_ciphertext_with_the_right_header_fails_authentication(generated):
    # The header is public; AES-GCM still refuses a key that did not encrypt the ciphertext.
    kid, _public, private = generated
    header = json.loads(b64decode(seal(generated).split(".")[0]))
    forged = jwe.JWE(private.export_private().encode(), protected=json.dumps(header))
    forged.add_recipient(jwk.JWK.generate(kty="oct", size=256))
    with pytest.raises(crypto.KeyDecryptionError, match="no configured"):
        unseal(generated, forged.serialize(compact=True))


def test_tampered_ciphertext_is_refused(generated):
    parts = seal(generated).split(".")
    body = bytearray(b64decode(parts[3]))
    body[10] ^= 1
    parts[3] = base64url_encode(bytes(body))
    with pytest.raises(crypto.KeyDecryptionError):
        unseal(generated, ".".join(parts))


def test_a_rewritten_header_is_refused(generated):
    # Swapping the header's kid for another row's breaks the tag: the header is the AAD.
    parts = seal(generated).split(".")
    header = json.loads(b64decode(parts[0]))
    other_kid, other_public, _ = crypto.generate_rsa_key(2048)
    parts[0] = base64url_encode(json.dumps({**header, "signing_kid": other_kid}))
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(".".join(parts), kid=other_kid, public_jwk=other_public)


@pytest.mark.parametrize("garbage", ["", "not a jwe", "a.b.c.d.e", "{}", None])
def test_garbage_is_refused(generated, garbage):
    with pytest.raises(crypto.KeyDecryptionError):
        unseal(generated, garbage)


def test_the_json_serialization_is_refused(generated):
    # Only the compact form: the JSON one could carry an unauthenticated header beside the protected one.
    token = jwe.JWE(algs=crypto.AT_REST_ALGS)
    token.deserialize(seal(generated))
    with pytest.raises(crypto.KeyDecryptionError, match="compact"):
        unseal(generated, token.serialize())


def test_other_wrapping_algorithms_are_refused(generated, settings):
    # Only dir + A256GCM is accepted at rest, so a row cannot steer decryption to a weaker scheme.
    kid, _public, private = generated
    token = jwe.JWE(
        private.export_private().encode(),
        protected=json.dumps({"alg": "A256KW", "enc": "A256GCM", "signing_kid": kid}),
    )
    token.add_recipient(crypto._aes_key(settings.SIGNET_KEY_ENCRYPTION_KEY))  # the right key, wrong scheme
    with pytest.raises(crypto.KeyDecryptionError):
        unseal(generated, token.serialize(compact=True))


def test_a_ciphertext_moved_to_another_row_is_refused(generated):
    # (b) Another row's ciphertext: refused by the header's kid before any decryption...
    other = crypto.generate_rsa_key(2048)
    with pytest.raises(crypto.KeyMismatch, match="encrypted for another key"):
        unseal(other, seal(generated))


def test_a_row_whose_public_key_was_replaced_is_refused(generated):
    # ...and a row's own ciphertext under a public key that is not its private key's.
    kid, public, _private = generated
    _other_kid, other_public, _ = crypto.generate_rsa_key(2048)
    for replaced in (
        {**other_public, "kid": kid},  # another key's numbers under this kid
        {**public, "alg": "RS512"},  # or any member changed
        {k: v for k, v in public.items() if k != "use"},
    ):
        with pytest.raises(crypto.KeyMismatch, match="does not match its public key"):
            crypto.decrypt_private_key(seal(generated), kid=kid, public_jwk=replaced)


def test_a_fallback_kek_still_decrypts_and_is_reported_as_not_current(generated, settings):
    kid, public, private = generated
    ciphertext = seal(generated)
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [THIRD_KEK, old]
    opened = crypto.open_private_key(ciphertext, kid=kid, public_jwk=public)
    assert opened.private.thumbprint() == private.thumbprint()
    assert not opened.current and not opened.legacy
    assert crypto.open_private_key(seal(generated), kid=kid, public_jwk=public).current


def test_a_legacy_ciphertext_opens_under_its_passphrase_as_a_fallback_only_for_reading(generated, settings):
    kid, public, private = generated
    ciphertext = legacy_ciphertext(private)
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(crypto.KeyDecryptionError, match="no configured"):
        crypto.open_private_key(ciphertext, kid=kid, public_jwk=public)
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [PASSPHRASE]
    opened = crypto.open_private_key(ciphertext, kid=kid, public_jwk=public)
    assert opened.legacy and not opened.current
    assert opened.private.thumbprint() == kid
    # Even a legacy row, which names no kid, must hold its own public key's private half.
    other = crypto.generate_rsa_key(2048)
    with pytest.raises(crypto.KeyMismatch):
        crypto.open_private_key(ciphertext, kid=other[0], public_jwk=other[1])


def test_encrypting_under_a_weak_current_value_is_refused(generated, settings):
    # Settings refuse such a value at start-up; an override that slips past still encrypts nothing.
    settings.SIGNET_KEY_ENCRYPTION_KEY = PASSPHRASE
    with pytest.raises(ImproperlyConfigured, match="32 random bytes"):
        seal(generated)


def test_rs256_signature_verifies_with_the_public_key(generated):
    _kid, _public, private = generated
    signature = crypto.sign("RS256", crypto.signer_for(private), b"header.payload")
    public_key = private.get_op_key("verify")
    public_key.verify(signature, b"header.payload", padding.PKCS1v15(), hashes.SHA256())


def test_unsupported_signing_algorithm(generated):
    _kid, _public, private = generated
    with pytest.raises(ValueError, match="unsupported"):
        crypto.sign("none", crypto.signer_for(private), b"x")
