"""Compact JWS (RFC 7515 7.1): split a token once, decode it strictly, check its signature.

This is the per-request part of token verification, so it is kept lean. `jwt.decode` (PyJWT)
checks every base64url character in a Python generator and, after `jwt.get_unverified_header`,
parses the whole token a second time: about 150 µs of a 190 µs verification whose RSA check takes
30 µs. Here the alphabet is checked by one regular expression and each segment is decoded once
(the header, the same for every token of a key, once per process).
The cryptography stays PyJWT's: its algorithm objects verify the signature (PKCS#1 v1.5, PSS,
ECDSA with the JOSE signature form, EdDSA) against the key object jwks.py keeps per kid.

No policy lives here: which algorithms, `typ` and claims are acceptable is tokens.py's business.
"""

import binascii
import functools
import json
import re
import types
from collections.abc import Mapping
from typing import NamedTuple

from jwt.algorithms import get_default_algorithms
from jwt.exceptions import PyJWTError

# Only public-key algorithms: with an HMAC one, the public key would become the shared secret.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_ALGORITHMS = {name: a for name, a in get_default_algorithms().items() if name in ASYMMETRIC_ALGORITHMS}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# The characters that may end a segment of length 4n+2 (4 unused bits) or 4n+3 (2 unused bits).
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


class MalformedJWS(ValueError):
    """Not a compact JWS with a JSON object header: three base64url segments."""


class CompactJWS(NamedTuple):  # a tuple: built on every request, and cheaper than a dataclass
    header: Mapping  # read-only
    signing_input: bytes  # the ASCII of "header.payload": what the signature covers
    payload: bytes  # decoded, not parsed: it is read only once the signature holds
    signature: bytes


def b64url_decode(segment):
    """RFC 7515 2: base64url without padding, in its single canonical spelling.

    Padding, characters outside the alphabet and non-zero unused bits are refused, so one token
    has exactly one encoding (what PyJWT's own check enforces, at C speed).
    """
    if _SEGMENT.fullmatch(segment) is None:
        raise MalformedJWS("not base64url")
    tail = len(segment) % 4
    if tail == 1:
        raise MalformedJWS("not base64url")
    # A last character that carries set bits beyond the data would be a second spelling.
    if tail and segment[-1] not in _CANONICAL_LAST[tail]:
        raise MalformedJWS("not canonical base64url")
    return binascii.a2b_base64(segment.encode("ascii").translate(_TO_STANDARD) + b"=" * (-tail % 4))


def json_object(data):
    """A JSON object from UTF-8 bytes (RFC 7515 5.2 step 4, RFC 7519 7.2 step 10)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise MalformedJWS("not JSON") from e
    if not isinstance(value, dict):
        raise MalformedJWS("not a JSON object")
    return value


@functools.lru_cache(maxsize=32)
def _header(segment):
    # Every token one key signs has the same header ({"alg", "kid", "typ"}), so the few a
    # provider uses are decoded once. A read-only view: the object is shared by every request.
    # Only decoding is cached; nothing here says whether any token is valid. A flood of distinct
    # headers merely evicts entries, and a segment that fails to decode is not kept at all.
    return types.MappingProxyType(json_object(b64url_decode(segment)))


def parse(token):
    """Split and decode a compact JWS (a str); the header is parsed, the payload left as bytes."""
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedJWS("not three segments")
    header_segment, payload_segment, signature_segment = segments
    header = _header(header_segment)
    # Decoded before the signing input is encoded: only then is every segment known to be ASCII.
    payload = b64url_decode(payload_segment)
    signature = b64url_decode(signature_segment)
    return CompactJWS(
        header=header,
        signing_input=f"{header_segment}.{payload_segment}".encode("ascii"),
        payload=payload,
        signature=signature,
    )


def signature_verifies(jws, alg, key):
    """Whether `key` (a `cryptography` public key) made `jws`'s signature with algorithm `alg`.

    False as well when the key cannot be used with `alg` (an EC key for RS256, a P-384 key for
    ES256): the token then was not signed by that key with that algorithm.
    """
    algorithm = _ALGORITHMS.get(alg) if isinstance(alg, str) else None
    if algorithm is None:
        return False
    try:
        prepared = algorithm.prepare_key(key)
    except (PyJWTError, TypeError, ValueError):
        return False
    return algorithm.verify(jws.signing_input, prepared, jws.signature)
