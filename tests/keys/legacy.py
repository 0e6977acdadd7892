"""Rows as the code before keys/kek.py wrote them, to test that deployments can move off them.

Written out here on purpose, not imported from keys/: the test must keep describing the old format
even after keys/crypto.py stops producing it.
"""

import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_encode

# A human-chosen key-encryption key, as README once allowed ("32+ characters").
PASSPHRASE = "our-company-signing-keys-passphrase-2024"


def legacy_derived_key(passphrase):
    """HKDF-SHA256 of the string, no salt: the old derivation."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"signet signing-key encryption")
    return hkdf.derive(passphrase.encode("utf-8"))


def legacy_fingerprint(passphrase):
    """What the old header carried as "kid": an offline test for guesses at the passphrase."""
    return hashlib.sha256(legacy_derived_key(passphrase)).hexdigest()[:16]


def legacy_ciphertext(private, passphrase=PASSPHRASE):
    """A private JWK encrypted the old way: dir + A256GCM, header kid = the fingerprint, no row binding."""
    token = jwe.JWE(
        private.export_private().encode("utf-8"),
        protected=json.dumps({"alg": "dir", "enc": "A256GCM", "kid": legacy_fingerprint(passphrase)}),
    )
    token.add_recipient(jwk.JWK(kty="oct", k=base64url_encode(legacy_derived_key(passphrase))))
    return token.serialize(compact=True)
