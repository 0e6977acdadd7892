"""The only jwcrypto importer in keys/: key generation, encryption at rest, public JWKs.

Private keys are encrypted as a compact JWE (alg "dir", enc "A256GCM") under a 256-bit key derived
from SIGNET_KEY_ENCRYPTION_KEY. The JWE header carries a short id of that key-encryption key, so a
key encrypted under a fallback is still found after the key-encryption key itself rotates.
"""

import hashlib
import json
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException, base64url_encode

PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e")
# The only algorithms a stored private key may be wrapped with: refuse anything else on the way in.
AT_REST_ALGS = ["dir", "A256GCM"]
SUPPORTED_ALGS = ("RS256",)


class KeyDecryptionError(Exception):
    """No configured key-encryption key can open this private key."""


def generate_rsa_key(size):
    """Return (kid, public JWK dict, private jwk.JWK) for a new RSA key."""
    key = jwk.JWK.generate(kty="RSA", size=size)
    kid = key.thumbprint()  # RFC 7638, SHA-256
    public = {k: v for k, v in key.export_public(as_dict=True).items() if k in PUBLIC_MEMBERS}
    public.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return kid, public, key


@lru_cache(maxsize=16)
def _kek(secret):
    """Derive a 256-bit AES key from an operator-supplied secret of any length; return (id, key)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"signet signing-key encryption").derive(
        secret.encode("utf-8")
    )
    key = jwk.JWK(kty="oct", k=base64url_encode(raw))
    # The id is a hash of the derived key, never of the secret itself, and is not enough to recover either.
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    return key_id, key


def _configured_keks():
    secrets = [settings.SIGNET_KEY_ENCRYPTION_KEY, *settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS]
    return [_kek(s) for s in secrets if s]


def configured_kek_ids():
    """Ids of the current key-encryption key, then of its fallbacks."""
    return [key_id for key_id, _ in _configured_keks()]


def encrypt_private_key(key):
    """Encrypt a private JWK under the current key-encryption key."""
    key_id, kek = _configured_keks()[0]
    token = jwe.JWE(
        key.export_private().encode("utf-8"),
        protected=json.dumps({"alg": "dir", "enc": "A256GCM", "kid": key_id}),
        algs=AT_REST_ALGS,
    )
    token.add_recipient(kek)
    return token.serialize(compact=True)


def _parse(ciphertext):
    token = jwe.JWE(algs=AT_REST_ALGS)
    try:
        token.deserialize(ciphertext)
    except (JWException, ValueError, TypeError) as e:
        raise KeyDecryptionError("stored private key is not a valid JWE") from e
    return token


def kek_id_of(ciphertext):
    """The id of the key-encryption key a stored private key was encrypted under."""
    return _parse(ciphertext).jose_header.get("kid")


def decrypt_private_key(ciphertext):
    """Decrypt a stored private key with the current or a fallback key-encryption key."""
    token = _parse(ciphertext)
    wanted = token.jose_header.get("kid")
    for key_id, kek in _configured_keks():
        if key_id != wanted:
            continue
        try:
            token.decrypt(kek)
        except JWException as e:
            raise KeyDecryptionError("private key failed to decrypt (tampered ciphertext?)") from e
        return jwk.JWK.from_json(token.payload.decode("utf-8"))
    raise KeyDecryptionError(
        "no configured SIGNET_KEY_ENCRYPTION_KEY (or fallback) matches the key that encrypted "
        "this signing key"
    )


def encrypted_with_current_kek(ciphertext):
    return kek_id_of(ciphertext) == configured_kek_ids()[0]


def public_jwk_object(public_jwk):
    return jwk.JWK(**public_jwk)


def signer_for(key):
    """The parsed `cryptography` private key, so signing skips jwcrypto's per-call overhead."""
    return key.get_op_key("sign")


def sign(alg, private_key, signing_input):
    """A JWS signature over signing_input (RFC 7515 5.1) with a parsed `cryptography` key."""
    if alg != "RS256":
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
