"""Verification of the provider's tokens: RFC 9068 access tokens (the API) and ID tokens (the login).

PyJWT does the JOSE work: it parses the compact JWS, checks the signature with the key published
under the token's `kid` (looked up through jwks.py), and checks `iss`, `aud` and the required claims.
This module adds what PyJWT leaves to its caller: the algorithm allow-list applied before any key
lookup, the `typ` header, refusing `crit`, matching the key's declared `alg`, and the time claims.

Pure functions of (token, key source, expectations, now): no Django, no settings, so they can be
tested with an injected clock. Error descriptions are fixed strings: nothing from the token is
echoed back to the caller.
"""

import base64
import hashlib
import hmac
import re
import time

import jwt

from .jwks import UnknownKey

MAX_TOKEN_LENGTH = 16 * 1024
# Only public-key algorithms: with an HMAC one, the public key would become the shared secret.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# RFC 7515 7.1 and 2: three base64url segments, unpadded. PyJWT also takes padded segments;
# refusing them leaves each token a single spelling (PyJWT refuses the other second spellings).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
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
    """RFC 7519 4.1.4/4.1.5: reject expired and not-yet-valid tokens, allowing `leeway` seconds of skew.

    Done here rather than by PyJWT (whose clock is the system's): verified.py applies this same
    rule to a token it remembers, and tests inject `now`.
    """
    if _int_claim(claims, "exp") <= now - leeway:
        raise InvalidToken("the token has expired")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + leeway:
        raise InvalidToken("the token is not valid yet")
    if _int_claim(claims, "iat") > now + leeway:
        raise InvalidToken("the token was issued in the future")


def _decode(token, *, keys, algorithms, issuer, audience, required, check_typ):
    """Header checks, key lookup, signature, iss, aud and required claims; times are the caller's.

    Returns the header, the claims and the VerificationKey whose signature they carry."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
        raise InvalidToken("malformed token")
    try:
        # Unverified: only to choose the key. Nothing in it is trusted until jwt.decode succeeds.
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise InvalidToken("malformed token") from e
    # RFC 8725 3.1: pin the algorithms, before a made-up token can cost a key lookup. This is where
    # "none" and HS256-with-the-public-key end, whatever list the caller passed.
    allowed = [a for a in algorithms if a in ASYMMETRIC_ALGORITHMS]
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed:
        raise InvalidToken("the token's algorithm is not accepted")
    # RFC 7515 4.1.11: we implement no JWS extension, so one marked critical must be refused
    # (PyJWT would accept "b64").
    if "crit" in header:
        raise InvalidToken("the token uses an unsupported critical extension")
    check_typ(_typ(header))
    # The key comes from the provider's published set only: a `jwk`, `jku`, `x5u` or `x5c` header
    # naming a key of the sender's choosing is never read.
    try:
        key = keys.signing_key(header.get("kid"))
    except UnknownKey as e:
        raise InvalidToken("the token is signed with an unknown key") from e
    if key.alg is not None and key.alg != alg:
        raise InvalidToken("the token's algorithm does not match its key")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=allowed,
            issuer=issuer,
            audience=audience,
            options={"require": required, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    # InvalidKeyError: a key of another curve; TypeError: of another type (an EC key for RS256).
    # Either way that key did not make the signature.
    except (jwt.InvalidSignatureError, jwt.InvalidKeyError, TypeError) as e:
        raise InvalidToken("the token's signature does not verify") from e
    except jwt.MissingRequiredClaimError as e:  # also an empty aud, which names no audience
        raise InvalidToken(f"the token lacks the {e.claim} claim") from e
    except jwt.InvalidIssuerError as e:
        raise InvalidToken("the token was issued by another issuer") from e
    except jwt.InvalidAudienceError as e:
        raise InvalidToken("the token is meant for another audience") from e
    except jwt.PyJWTError as e:  # a payload that is not a JSON object, a sub or jti not a string, ...
        raise InvalidToken("invalid token") from e
    return header, claims, key


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
    _, claims, key = _decode(
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
    header, claims, _ = _decode(
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
    if (
        access_token is not None
        and "at_hash" in claims
        and not hmac.compare_digest(str(claims["at_hash"]), _at_hash(access_token, header["alg"]))
    ):
        raise InvalidToken("the ID token's at_hash does not match the access token")
    return claims


# OIDC Back-Channel Logout 1.0 2.4: the event member that makes a JWT a logout token.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPES = {"logout+jwt", "application/logout+jwt"}
LOGOUT_TOKEN_CLAIMS = ["iss", "aud", "iat", "exp", "jti", "events"]  # 2.4


def _require_logout_token_type(typ):
    # 2.4 and RFC 8725 3.11: the explicit type keeps an ID or access token from passing as a logout token.
    if typ not in LOGOUT_TOKEN_TYPES:
        raise InvalidToken("the token is not a logout token (typ must be logout+jwt)")


def logout_token_verify(token, *, keys, issuer, client_id, algorithms, leeway=30, now=None):
    """Verify a logout token as Back-Channel Logout 1.0 2.6 asks (steps 1 to 6; the jti replay check
    needs storage and is the caller's); return its claims or raise InvalidToken."""
    _, claims, _ = _decode(
        token,
        keys=keys,
        algorithms=algorithms,
        issuer=issuer,
        audience=client_id,
        required=LOGOUT_TOKEN_CLAIMS,
        check_typ=_require_logout_token_type,
    )
    # 2.6 (4): iat present (required above) and exp not past, as for ID tokens.
    check_times(claims, now=time.time() if now is None else now, leeway=leeway)
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise InvalidToken("the token's jti must be a non-empty string")
    # 2.6 (5): events names the back-channel logout event, whose value is a JSON object.
    events = claims["events"]
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise InvalidToken("the token is not a back-channel logout event")
    # 2.6 (6): a sub, a sid or both, each a string when present.
    sub, sid = claims.get("sub"), claims.get("sid")
    if sub is None and sid is None:
        raise InvalidToken("the token names neither a sub nor a sid")
    if any(value is not None and (not isinstance(value, str) or not value) for value in (sub, sid)):
        raise InvalidToken("the token's sub and sid must be non-empty strings")
    # 2.6 (7) / 2.4: a nonce is prohibited, so that an ID token can never pass as a logout token.
    if "nonce" in claims:
        raise InvalidToken("a logout token must not carry a nonce")
    return claims
