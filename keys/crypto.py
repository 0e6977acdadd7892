"""The only jwcrypto importer in keys/: key generation, encryption at rest, public JWKs.

A private key is stored as a compact JWE (alg "dir", enc "A256GCM") under an AES key derived from
SIGNET_KEY_ENCRYPTION_KEY (32 random bytes, keys/kek.py). Its protected header, which AES-GCM
authenticates, names the signing key's kid, and a decrypted key must be the private half of the row's
public key: a ciphertext copied to another row, or a row whose public key was replaced, is refused.

The header names no key-encryption key, not even by a hash: decryption tries the current key, then
the fallbacks, one AES-GCM tag check each. An id derived from a 256-bit random key would not help an
attacker guess it, but it would tell which dumps share a key-encryption key, and it is not needed.

Rows written before this format ("legacy": no kid in the header, and a key derived from any string)
still open under any configured value, so a deployment can upgrade first and run
`manage.py keys reencrypt` after; they never count as current, so reencrypt always rewrites them.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwe, jwk
from jwcrypto.common import JWException, base64url_encode

from . import kek

PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y")
# The only algorithms a stored private key may be wrapped with: refuse anything else on the way in.
AT_REST_ALGS = ["dir", "A256GCM"]
SUPPORTED_ALGS = ("RS256", "ES256", "EdDSA")
# The key type each algorithm signs with (RFC 7518 3.3 and 3.4, RFC 8037 3.1), and back.
KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
ALG_OF_KEY_TYPE = {kty: alg for alg, kty in KEY_TYPES.items()}
# RFC 7518 3.4: an ES256 signature is R and S, 32 bytes each, big-endian (not DER).
ES256_COORDINATE_BYTES = 32
# The protected-header member that binds a ciphertext to its row (a private name: "kid" in a JWE
# names the key that encrypted it, which is exactly what the header must not carry).
BOUND_KID = "signing_kid"


class KeyDecryptionError(Exception):
    """No configured key-encryption key can open this private key, or it is not this row's key."""


class KeyMismatch(KeyDecryptionError):
    """The stored private key opened, but it is not the private half of the row's public key."""


@dataclass(frozen=True)
class Opened:
    """A decrypted private key and how it was stored."""

    private: jwk.JWK
    # Under the current key-encryption key and in the current format: nothing for reencrypt to do.
    current: bool
    # Written before the kid was bound into the header (see the module docstring).
    legacy: bool


def alg_of(key):
    """The one algorithm Signet signs with a key of this type (None for any other type or curve)."""
    return ALG_OF_KEY_TYPE.get((key.get("kty"), key.get("crv")))


def public_jwk_of(key, kid):
    """The public JWK Signet stores and publishes for a key: public members, kid, use, alg."""
    public = {k: v for k, v in key.export_public(as_dict=True).items() if k in PUBLIC_MEMBERS}
    public.update({"kid": kid, "use": "sig", "alg": alg_of(key)})
    return public


def generate_key(alg, *, size=None):
    """Return (kid, public JWK dict, private jwk.JWK, size in bits) for a new key of `alg`.

    `size` applies to RSA only: P-256 and Ed25519 keys have the size of their curve.
    """
    if alg == "RS256":
        return (*generate_rsa_key(size), size)
    if alg not in KEY_TYPES:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kty, crv = KEY_TYPES[alg]
    key = jwk.JWK.generate(kty=kty, crv=crv)
    kid = key.thumbprint()  # RFC 7638, SHA-256
    return kid, public_jwk_of(key, kid), key, 256


def generate_rsa_key(size):
    """Return (kid, public JWK dict, private jwk.JWK) for a new RSA key."""
    key = jwk.JWK.generate(kty="RSA", size=size)
    kid = key.thumbprint()  # RFC 7638, SHA-256
    return kid, public_jwk_of(key, kid), key


def _oct(raw):
    return jwk.JWK(kty="oct", k=base64url_encode(raw))


@lru_cache(maxsize=16)
def _aes_key(value):
    """The AES key for a proper key-encryption key; None for any other value.

    HKDF with a label of its own keeps the AES key distinct even if an operator reused the same value
    elsewhere (SECRET_KEY, another service): a random 32-byte input needs no salt (RFC 5869 3.1).
    """
    raw = kek.decode(value)
    if raw is None:
        return None
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"signet signing-key at rest v2")
    return _oct(hkdf.derive(raw))


@lru_cache(maxsize=16)
def _legacy_aes_key(value):
    """The key rows were encrypted under before kek.py: HKDF of any string, without salt. Decryption only."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"signet signing-key encryption").derive(
        value.encode("utf-8")
    )
    return _oct(raw)


def _configured():
    current, fallbacks = settings.SIGNET_KEY_ENCRYPTION_KEY, settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS
    values = [v for v in (current, *fallbacks) if v]
    if kek.decode(current) == kek.DEVELOPMENT_BYTES:
        # Both defaults are public, so this opens nothing a real deployment holds: it keeps a
        # development database from before kek.py working (`keys reencrypt` moves it on).
        values.append(kek.LEGACY_DEVELOPMENT_VALUE)
    return values


def _candidates(legacy):
    """(is the current key, AES key) for every configured value that can open this format, current first."""
    values = _configured()
    if legacy:
        return [(False, _legacy_aes_key(v)) for v in values]
    keys = [(i == 0, _aes_key(v)) for i, v in enumerate(values)]
    return [(current, key) for current, key in keys if key is not None]


def _current_aes_key():
    key = _aes_key(settings.SIGNET_KEY_ENCRYPTION_KEY)
    if key is None:  # settings refuse to start with such a value; only an override gets here
        raise ImproperlyConfigured(kek.problem(settings.SIGNET_KEY_ENCRYPTION_KEY))
    return key


def encrypt_private_key(key, *, kid):
    """Encrypt a private JWK under the current key-encryption key, bound to its row's kid."""
    if key.thumbprint() != kid:
        raise ValueError("kid is not this key's thumbprint")
    token = jwe.JWE(
        key.export_private().encode("utf-8"),
        protected=json.dumps({"alg": "dir", "enc": "A256GCM", BOUND_KID: kid}),
        algs=AT_REST_ALGS,
    )
    token.add_recipient(_current_aes_key())
    return token.serialize(compact=True)


def _parse(ciphertext):
    # Compact serialization only: its one header is the protected, authenticated one.
    if not isinstance(ciphertext, str) or ciphertext.count(".") != 4:
        raise KeyDecryptionError("stored private key is not a compact JWE")
    token = jwe.JWE(algs=AT_REST_ALGS)
    try:
        token.deserialize(ciphertext)
    except (JWException, ValueError, TypeError) as e:
        raise KeyDecryptionError("stored private key is not a valid JWE") from e
    return token


def _require_private_half_of(private, *, kid, public_jwk):
    """The decrypted key must be the private half of this row's public key, under this row's kid."""
    if alg_of(private) is None or not private.has_private:
        raise KeyMismatch(f"the stored private key of {kid} is not a private signing key")
    if private.thumbprint() != kid or public_jwk_of(private, kid) != public_jwk:
        raise KeyMismatch(f"the stored private key of {kid} does not match its public key")


def open_private_key(ciphertext, *, kid, public_jwk):
    """Decrypt a row's private key with the current or a fallback key-encryption key and check it is
    the private half of the row's public key. Raises KeyDecryptionError (KeyMismatch) otherwise."""
    token = _parse(ciphertext)
    header = token.jose_header
    legacy = BOUND_KID not in header
    if not legacy and header[BOUND_KID] != kid:
        raise KeyMismatch(f"the stored private key of {kid} was encrypted for another key")
    for is_current, candidate in _candidates(legacy):
        try:
            token.decrypt(candidate)
        except JWException:
            continue  # AES-GCM's tag: not this key-encryption key (or a tampered ciphertext)
        current = is_current
        break
    else:
        raise KeyDecryptionError(
            f"no configured SIGNET_KEY_ENCRYPTION_KEY (or fallback) opens the private key of {kid} "
            "(another key-encryption key, or a tampered ciphertext)"
        )
    try:
        private = jwk.JWK.from_json(token.payload.decode("utf-8"))
    except (JWException, ValueError, TypeError) as e:
        raise KeyMismatch(f"the stored private key of {kid} is not a JWK") from e
    _require_private_half_of(private, kid=kid, public_jwk=public_jwk)
    return Opened(private=private, current=current and not legacy, legacy=legacy)


def decrypt_private_key(ciphertext, *, kid, public_jwk):
    """The private JWK of a row (see open_private_key)."""
    return open_private_key(ciphertext, kid=kid, public_jwk=public_jwk).private


def public_jwk_object(public_jwk):
    return jwk.JWK(**public_jwk)


def signer_for(key):
    """The parsed `cryptography` private key, so signing skips jwcrypto's per-call overhead."""
    return key.get_op_key("sign")


def verifier_for(public_key):
    """The parsed `cryptography` public key of a jwcrypto JWK, so verifying skips jwcrypto's per-call cost."""
    return public_key.get_op_key("verify")


def _es256_raw(der):
    """RFC 7518 3.4: `cryptography` gives a DER ECDSA signature; JWS wants R || S, 32 bytes each."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(ES256_COORDINATE_BYTES, "big") + s.to_bytes(ES256_COORDINATE_BYTES, "big")


def _es256_der(raw):
    """The DER form of an R || S signature; None unless it is exactly 64 bytes (RFC 7518 3.4)."""
    if len(raw) != 2 * ES256_COORDINATE_BYTES:
        return None
    r = int.from_bytes(raw[:ES256_COORDINATE_BYTES], "big")
    s = int.from_bytes(raw[ES256_COORDINATE_BYTES:], "big")
    return encode_dss_signature(r, s)


def verify(alg, public_key, signing_input, signature):
    """Whether `signature` is a JWS signature over signing_input (RFC 7515 5.2) by the parsed key.

    The caller has matched `alg` to the key (keys/jwt.py); a key of another type fails here too.
    """
    try:
        if alg == "RS256":
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            der = _es256_der(signature)
            if der is None:
                return False
            public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg == "EdDSA":
            public_key.verify(signature, signing_input)
        else:
            return False
    except (InvalidSignature, TypeError, AttributeError):
        # TypeError/AttributeError: a key of another type than the alg's (never by Signet's own rows).
        return False
    return True


def sign(alg, private_key, signing_input):
    """A JWS signature over signing_input (RFC 7515 5.1) with a parsed `cryptography` key."""
    if alg == "RS256":
        return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        return _es256_raw(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    if alg == "EdDSA":
        return private_key.sign(signing_input)  # RFC 8037 3.1: Ed25519 over the signing input as is
    raise ValueError(f"unsupported signing algorithm {alg!r}")


# A small secret of another app (a TOTP seed) at rest: the signing keys' path, bound to a purpose.
SECRET_PURPOSE = "signet_purpose"


def encrypt_secret(raw, *, purpose):
    """A compact JWE of `raw` bytes under the current key-encryption key, its purpose in the header."""
    if not isinstance(raw, bytes) or not purpose:
        raise ValueError("encrypt_secret takes bytes and a purpose")
    token = jwe.JWE(
        raw,
        protected=json.dumps({"alg": "dir", "enc": "A256GCM", SECRET_PURPOSE: purpose}),
        algs=AT_REST_ALGS,
    )
    token.add_recipient(_current_aes_key())
    return token.serialize(compact=True)


def decrypt_secret(ciphertext, *, purpose):
    """The bytes encrypt_secret stored for this purpose, under the current or a fallback key-encryption key.

    Raises KeyDecryptionError when no configured key opens it, or it was stored for another purpose
    (a row's ciphertext copied to another user's row, say).
    """
    token = _parse(ciphertext)
    if token.jose_header.get(SECRET_PURPOSE) != purpose:
        raise KeyDecryptionError("the stored secret was encrypted for another purpose")
    for _current, candidate in _candidates(legacy=False):
        try:
            token.decrypt(candidate)
        except JWException:
            continue
        return token.payload
    raise KeyDecryptionError("no configured SIGNET_KEY_ENCRYPTION_KEY (or fallback) opens the stored secret")
