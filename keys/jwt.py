"""Compact JWS for the tokens Signet issues and reads back.

Signing uses the cached `cryptography` key of the active SigningKey directly (one RSA operation and
two base64 encodings), because jwcrypto's per-signature overhead is measurable on the token path.
Verification goes through jwcrypto and picks the key by the token's `kid` among published keys.
"""

import json

from jwcrypto import jws
from jwcrypto.common import JWException, base64url_decode, base64url_encode

from .crypto import rs256_sign
from .selectors import active_signing_key, key_by_kid


class InvalidToken(Exception):
    """The token is malformed, not ours, or its signature does not verify."""


def _b64(data):
    return base64url_encode(data).encode("ascii")


def sign(claims, *, typ="JWT", now=None):
    """Sign claims with the active key; the header carries its kid."""
    key = active_signing_key(now=now)
    header = {"alg": "RS256", "typ": typ, "kid": key.kid}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + b"."
        + _b64(json.dumps(claims, separators=(",", ":"), default=str).encode())
    )
    return (signing_input + b"." + _b64(rs256_sign(key.signer, signing_input))).decode("ascii")


def unverified_header(token):
    try:
        header_b64 = token.split(".", 1)[0]
        header = json.loads(base64url_decode(header_b64))
    except (ValueError, AttributeError, TypeError) as e:
        raise InvalidToken("malformed token") from e
    if not isinstance(header, dict):
        raise InvalidToken("malformed token header")
    return header


def verify(token, *, now=None):
    """Verify a token's RS256 signature against the published key its kid names; return claims.

    Expiry is the caller's to check: `id_token_hint` accepts expired ID tokens.
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        raise InvalidToken("malformed token")
    header = unverified_header(token)
    if header.get("alg") != "RS256":
        raise InvalidToken("unsupported alg")
    key = key_by_kid(header.get("kid"), now=now)
    if key is None:
        raise InvalidToken("unknown signing key")
    verifier = jws.JWS()
    try:
        verifier.deserialize(token)
        verifier.verify(key.public, alg="RS256")
        claims = json.loads(verifier.payload)
    except (JWException, ValueError, TypeError) as e:
        raise InvalidToken("bad signature") from e
    if not isinstance(claims, dict):
        raise InvalidToken("claims are not an object")
    return claims
