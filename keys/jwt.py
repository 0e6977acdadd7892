"""Compact JWS for the tokens Signet issues and reads back.

Signing and verifying use the cached `cryptography` keys of the SigningKey directly (one RSA, ECDSA or
Ed25519 operation and a few base64 codings), because jwcrypto's per-call overhead (it deep-copies its
header registry for every JWS object) is measurable on the token, introspection and userinfo paths.
Verification picks the key by the token's `kid` among published keys and requires the alg that key
was made for.
"""

import json

from jwcrypto.common import base64url_decode, base64url_encode

from provider import untrusted_json

from . import crypto
from .selectors import active_signing_key, key_by_kid

MAX_TOKEN_LENGTH = 16384


class InvalidToken(Exception):
    """The token is malformed, not ours, or its signature does not verify."""


def _b64(data):
    return base64url_encode(data).encode("ascii")


def sign(claims, *, typ="JWT", now=None, alg="RS256"):
    """Sign claims with the active key of `alg`; the header carries its kid."""
    key = active_signing_key(now=now, alg=alg)
    header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + b"."
        + _b64(json.dumps(claims, separators=(",", ":"), default=str).encode())
    )
    signature = crypto.sign(key.alg, key.signer, signing_input)
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def unverified_header(token):
    """The JOSE header of a compact JWS, unverified; InvalidToken if it is not one."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    try:
        header = untrusted_json.loads(base64url_decode(token.split(".", 1)[0]))
    except (ValueError, TypeError) as e:
        raise InvalidToken("malformed token") from e
    if not isinstance(header, dict):
        raise InvalidToken("malformed token header")
    return header


def signing_key_published(token, *, now=None):
    """Whether the key named by a JWT's header kid is still published (not revoked, not purged).

    Checks no signature: for tokens whose authenticity is known otherwise (DOT's stored checksum).
    """
    try:
        header = unverified_header(token)
    except InvalidToken:
        return False
    return header.get("alg") in crypto.SUPPORTED_ALGS and key_by_kid(header.get("kid"), now=now) is not None


def verify(token, *, now=None):
    """Verify a token's signature against the published key its kid names; return its claims.

    Expiry is the caller's to check: `id_token_hint` accepts expired ID tokens.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidToken("malformed token")
    header = unverified_header(token)
    alg = header.get("alg")
    if alg not in crypto.SUPPORTED_ALGS:
        raise InvalidToken("unsupported alg")
    key = key_by_kid(header.get("kid"), now=now)
    if key is None:
        raise InvalidToken("unknown signing key")
    if key.alg != alg:
        # RFC 8725 3.1: a key verifies with the one algorithm it was made for, never another.
        raise InvalidToken("alg does not match the key")
    signing_input, _, encoded_signature = token.rpartition(".")
    try:
        signed = signing_input.encode("ascii")
        signature = base64url_decode(encoded_signature)
    except (ValueError, TypeError) as e:  # UnicodeEncodeError and binascii.Error are ValueErrors
        raise InvalidToken("malformed token") from e
    if not crypto.verify(key.alg, key.verifier, signed, signature):
        raise InvalidToken("bad signature")
    try:
        claims = untrusted_json.loads(base64url_decode(signing_input.split(".", 1)[1]))
    except (ValueError, TypeError) as e:
        raise InvalidToken("malformed token") from e
    if not isinstance(claims, dict):
        raise InvalidToken("claims are not an object")
    return claims
