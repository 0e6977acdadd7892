"""Verification of the provider's tokens: RFC 9068 access tokens (the API) and ID tokens (the login).

Pure functions of (token, key source, expectations, now): no Django, no settings, so they can be
tested with an injected clock. Error descriptions are fixed strings: nothing from the token is
echoed back to the caller.
"""

import base64
import hashlib
import hmac
import time

from . import jws
from .jwks import UnknownKey

MAX_TOKEN_LENGTH = 16 * 1024
# RFC 9068 2.1: "at+jwt"; media types compare case-insensitively and may carry "application/".
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
ACCESS_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]  # RFC 9068 2.2
ID_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat"]  # OIDC Core 2


class InvalidToken(Exception):
    """The token must not be accepted; str(exc) is a short, fixed description safe to return."""


def _typ(header):
    typ = header.get("typ")
    return typ.lower() if isinstance(typ, str) else None


def _int_claim(claims, name):
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the {name} claim is not a number")
    return value


def check_times(claims, *, now, leeway):
    """RFC 7519 4.1.4/4.1.5: reject expired and not-yet-valid tokens, allowing `leeway` seconds of skew."""
    if _int_claim(claims, "exp") <= now - leeway:
        raise InvalidToken("the token has expired")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + leeway:
        raise InvalidToken("the token is not valid yet")
    if _int_claim(claims, "iat") > now + leeway:
        raise InvalidToken("the token was issued in the future")


def _check_claims(claims, *, issuer, audience, required):
    """Required claims, iss and aud (RFC 7519 4.1), with the rules and messages PyJWT's decode had."""
    for name in required:
        # An empty aud names no audience at all: as good as missing.
        if claims.get(name) is None or (name == "aud" and not claims["aud"]):
            raise InvalidToken(f"the token lacks the {name} claim")
    if claims.get("iss") != issuer:
        raise InvalidToken("the token was issued by another issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise InvalidToken("the token is meant for another audience")
    if audience not in audiences:
        raise InvalidToken("the token is meant for another audience")
    # RFC 7519 4.1.2, 4.1.7: sub and jti, where present, are strings.
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidToken("invalid token")


def _decode(token, *, keys, algorithms, issuer, audience, required, check_typ):
    """Header checks, key lookup, signature, iss and aud; times are the caller's (injected clock).

    Returns the claims and the VerificationKey whose signature they carry."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed token")
    try:
        parsed = jws.parse(token)
    except jws.MalformedJWS as e:
        raise InvalidToken("malformed token") from e
    header = parsed.header
    alg = header.get("alg")
    # RFC 8725 3.1: pin the algorithms. This is where "none" and HS256-with-the-public-key end.
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidToken("the token's algorithm is not accepted")
    # RFC 7515 4.1.11: we implement no JWS extension, so one marked critical must be refused.
    if "crit" in header:
        raise InvalidToken("the token uses an unsupported critical extension")
    check_typ(_typ(header))
    try:
        key = keys.signing_key(header.get("kid"))
    except UnknownKey as e:
        raise InvalidToken("the token is signed with an unknown key") from e
    if key.alg is not None and key.alg != alg:
        raise InvalidToken("the token's algorithm does not match its key")
    if not jws.signature_verifies(parsed, alg, key.key):
        raise InvalidToken("the token's signature does not verify")
    # Only now is the payload worth parsing: it comes from the key's holder.
    try:
        claims = jws.json_object(parsed.payload)
    except jws.MalformedJWS as e:
        raise InvalidToken("invalid token") from e
    _check_claims(claims, issuer=issuer, audience=audience, required=required)
    return claims, key


def _require_access_token_type(typ):
    # RFC 9068 4: the typ header keeps ID tokens and other JWTs from being replayed as access tokens.
    if typ not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")


def _refuse_access_token_type(typ):
    if typ in ACCESS_TOKEN_TYPES:
        raise InvalidToken("an access token is not an ID token")


def access_token_verify(token, *, keys, issuer, audience, algorithms, leeway=30, now=None):
    """Verify an RFC 9068 access token meant for `audience`; return its claims or raise InvalidToken."""
    return access_token_verification(
        token, keys=keys, issuer=issuer, audience=audience, algorithms=algorithms, leeway=leeway, now=now
    )[0]


def access_token_verification(token, *, keys, issuer, audience, algorithms, leeway=30, now=None):
    """access_token_verify, also naming the key that signed the token: (claims, VerificationKey)."""
    claims, key = _decode(
        token,
        keys=keys,
        algorithms=algorithms,
        issuer=issuer,
        audience=audience,
        required=ACCESS_TOKEN_CLAIMS,
        check_typ=_require_access_token_type,
    )
    check_times(claims, now=time.time() if now is None else now, leeway=leeway)
    if not isinstance(claims["sub"], str) or not isinstance(claims["client_id"], str):
        raise InvalidToken("the token's sub and client_id must be strings")
    if not isinstance(claims.get("scope", ""), str):
        raise InvalidToken("the token's scope must be a string")
    return claims, key


def _at_hash(access_token, alg):
    # OIDC Core 3.1.3.6: left half of the hash of the access token's ASCII octets.
    digest = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}.get(alg[-3:])
    if digest is None:
        raise InvalidToken("at_hash cannot be checked for this algorithm")
    half = digest(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(half[: len(half) // 2]).rstrip(b"=").decode("ascii")


def id_token_verify(
    token, *, keys, issuer, client_id, nonce, algorithms, access_token=None, leeway=30, now=None
):
    """Verify an ID token received from the token endpoint (OIDC Core 3.1.3.7); return its claims."""
    claims, _ = _decode(
        token,
        keys=keys,
        algorithms=algorithms,
        issuer=issuer,
        audience=client_id,
        required=ID_TOKEN_CLAIMS,
        check_typ=_refuse_access_token_type,
    )
    check_times(claims, now=time.time() if now is None else now, leeway=leeway)
    # OIDC Core 3.1.3.7 (4, 5): with several audiences, azp must name us.
    if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != client_id:
        raise InvalidToken("the ID token's azp is not this client")
    # OIDC Core 3.1.3.7 (11): the nonce ties the ID token to this browser's sign-in.
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise InvalidToken("the ID token's nonce does not match this sign-in")
    if access_token is not None and "at_hash" in claims:
        header_alg = jws.parse(token).header["alg"]
        if not hmac.compare_digest(str(claims["at_hash"]), _at_hash(access_token, header_alg)):
            raise InvalidToken("the ID token's at_hash does not match the access token")
    return claims
