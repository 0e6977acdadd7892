"""Client authentication (RFC 6749 2.3): client_secret_basic, client_secret_post, private_key_jwt
(RFC 7523 2.2, OIDC Core 9), and none for public clients. Imports no DOT.

A client registered for private_key_jwt authenticates only with an assertion signed by one of its keys
(client_keys.py), and a client with a secret only with that secret. Every assertion check is one
named rule below; a failed one is audited by its name, never with the assertion.

An unknown client id and a wrong secret must be indistinguishable, in the response and in the time it
takes: both hash the presented secret once and compare it in constant time (against a dummy hash
when there is no client), and both fail through the same path.
"""

import base64
import binascii
import json
import logging
import math
import secrets
from datetime import UTC, datetime
from functools import cache
from typing import NamedTuple
from urllib.parse import unquote_plus

import jwt
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from provider.audit import audit

from . import client_cache, client_keys, metadata_documents, storage
from .errors import OAuthError
from .hashers import ALGORITHM
from .models import PRIVATE_KEY_JWT, Client, ClientAssertionJti

log = logging.getLogger("signet.client_authentication")

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"
# RFC 7523 2.2: the client_assertion_type of a JWT client assertion.
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# RFC 7523 3 item 4: a JWT whose exp is unreasonably far in the future may be rejected; its jti is
# kept until exp, so this also bounds how long the replay table holds it.
MAX_ASSERTION_LIFETIME = 300
# RFC 7523 3 items 4-6: "reasonable leeway" for clocks that differ a little.
LEEWAY = 30
MAX_ASSERTION_CHARS = 16 * 1024
MAX_JTI_CHARS = 255
_JWS = jwt.PyJWS()


class Presented(NamedTuple):
    client_id: str
    secret: str
    method: str


def _basic(authorization):
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: both parts are form-urlencoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def plausible_identifier(value):
    """A client id or code worth looking up: a non-empty string without NUL (PostgreSQL refuses NUL)."""
    return isinstance(value, str) and 0 < len(value) <= 1024 and "\x00" not in value


def presented_credentials(*, authorization, body_client_id, body_client_secret):
    """The client's credentials, or None when absent, malformed or sent by two methods at once.

    RFC 6749 2.3: a client MUST NOT use more than one authentication method in a request; a
    client_id in the body next to Basic credentials must name the same client.
    """
    basic = _basic(authorization) if authorization else None
    if authorization and authorization.lower().startswith("basic") and basic is None:
        return None
    if basic is not None:
        client_id, secret = basic
        if not plausible_identifier(client_id):
            return None
        if body_client_secret or (body_client_id and body_client_id != client_id):
            return None
        return Presented(client_id, secret, BASIC)
    if body_client_id and body_client_secret and plausible_identifier(body_client_id):
        return Presented(body_client_id, body_client_secret, POST)
    return None


@cache
def _dummy_hash():
    """A hash no secret matches: what an unknown client's secret is checked against."""
    return make_password(secrets.token_urlsafe(48), hasher=ALGORITHM)


def stored_secret_matches(presented, stored):
    """Check a presented secret against a client's stored secret (None: unknown client or no secret).

    Always does one hash and one constant-time comparison, so the answer takes the same time
    whether or not the client exists.
    """
    target = stored or _dummy_hash()
    try:
        identify_hasher(target)
    except ValueError:
        # Stored in clear (hash_client_secret=False): still compared in constant time.
        check_password(presented, _dummy_hash())
        return constant_time_compare(presented, target)
    return check_password(presented, target) and bool(stored)


def _failed():
    return OAuthError("invalid_client", "Client authentication failed.")


def client_authenticate(*, presented):
    """The active confidential client these credentials authenticate, or None (same work either way)."""
    # The cached instance itself: nothing on the token path changes a client, and a copy costs more
    # than the rest of finding it.
    client = client_cache.client_shared(presented.client_id)
    if client is not None and (not client.is_active or client.authenticates_with_key):
        # OIDC Core 9: a private_key_jwt client authenticates with its key; a secret is not accepted,
        # even one left from before it was switched to keys.
        client = None
    confidential = client is not None and client.client_type == Client.CLIENT_CONFIDENTIAL
    stored = client.client_secret if confidential else None
    if stored_secret_matches(presented.secret, stored):
        return client
    audit("client.authentication_failed", client_id=presented.client_id, method=presented.method)
    return None


def authenticate(*, http, params, public_allowed=True):
    """(client, method) for the request's client, or OAuthError invalid_client.

    A client that presents an assertion must be a private_key_jwt client that signed it. A client
    that presents a secret (Basic or in the body) must be a confidential client with that secret. A
    request with only a client_id in the body is a public client's (RFC 6749 2.1, 3.2.1), where the
    endpoint allows one; a confidential client must always authenticate.
    """
    authorization = http.headers.get("Authorization")
    if "client_assertion" in params or "client_assertion_type" in params:
        return private_key_jwt(http=http, params=params), PRIVATE_KEY_JWT
    presented = presented_credentials(
        authorization=authorization,
        body_client_id=params.get("client_id"),
        body_client_secret=params.get("client_secret"),
    )
    if presented is not None:
        client = client_authenticate(presented=presented)
        if client is None:
            raise _failed()
        return client, presented.method
    client_id = params.get("client_id")
    if (
        not public_allowed
        or authorization
        or params.get("client_secret")
        or not plausible_identifier(client_id)
    ):
        raise _failed()
    client = _named_client(client_id, method=NONE)
    if client is None or not client.is_active or client.client_type != Client.CLIENT_PUBLIC:
        raise _failed()
    return client, NONE


def _named_client(client_id, *, method):
    """The client a public client's or an assertion's client_id names, a client ID metadata document's
    fetched or refreshed when needed (metadata_documents.py); None when there is none to use."""
    try:
        return metadata_documents.client_for(client_id)
    except metadata_documents.DocumentRefused as e:
        # metadata_documents audited the refusal where it helps; the caller learns only invalid_client.
        log.info("client %s refused at %s: %s", client_id, method, e)
        return None


# --- private_key_jwt (RFC 7523 2.2 and 3, OIDC Core 9) -------------------------------------------
class Refused(Exception):
    """An assertion check failed; the message is the rule's name, safe to audit."""


def _now():
    return timezone.now()


def private_key_jwt(*, http, params, now=None):
    """The active private_key_jwt client whose valid, unused assertion the request carries, or
    OAuthError invalid_client (audited with the failed rule's name, never the assertion)."""
    now = now or _now()
    client_id = None
    try:
        assertion = assertion_of(http=http, params=params)
        header, claims = unverified_parts(assertion)
        client_id = issuer_is_subject(claims)
        body_client_id_matches(params, client_id)
        client = key_client(client_id)
        claims = signature_verified(assertion, header, client)
        audience_is_this_server(claims)
        not_expired(claims, now)
        not_too_long_lived(claims, now)
        issued_in_the_past(claims, now)
        jti_unused(client, claims)
    except Refused as refusal:
        # The presented id is the caller's word: audited only when it names a registered client.
        known = client_id is not None and client_cache.client_get(client_id) is not None
        audit(
            "client.authentication_failed",
            client_id=client_id if known else None,
            method=PRIVATE_KEY_JWT,
            reason=str(refusal),
        )
        raise _failed() from None
    return client


def assertion_of(*, http, params):
    """The assertion, when it is the request's one authentication method."""
    # RFC 7523 2.2: the type names a JWT bearer assertion, and the assertion is there.
    if params.get("client_assertion_type") != JWT_BEARER:
        raise Refused("client_assertion_type is not jwt-bearer")
    assertion = params.get("client_assertion")
    if not assertion or len(assertion) > MAX_ASSERTION_CHARS:
        raise Refused("client_assertion missing or too long")
    # RFC 6749 2.3: a client MUST NOT use more than one authentication method per request.
    if http.headers.get("Authorization") or "client_secret" in params:
        raise Refused("more than one authentication method")
    return assertion


def unverified_parts(assertion):
    """The header and claims, read before the signature only to find the client and its key."""
    try:
        parts = _JWS.decode_complete(assertion, options={"verify_signature": False})
        claims = json.loads(parts["payload"])
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise Refused("not a JWS") from None
    if not isinstance(claims, dict):
        raise Refused("claims are not a JSON object")
    return parts["header"], claims


def issuer_is_subject(claims):
    # RFC 7523 3 items 1 and 2, OIDC Core 9: iss and sub are both the client_id.
    iss, sub = claims.get("iss"), claims.get("sub")
    if not plausible_identifier(iss) or iss != sub:
        raise Refused("iss is not sub")
    return iss


def body_client_id_matches(params, client_id):
    # RFC 7521 4.2: a client_id sent alongside the assertion must name the same client.
    if "client_id" in params and params["client_id"] != client_id:
        raise Refused("client_id is not the assertion's")


def key_client(client_id):
    client = _named_client(client_id, method=PRIVATE_KEY_JWT)
    if client is None or not client.is_active:
        raise Refused("unknown or disabled client")
    # OIDC Core 9: only a client registered for private_key_jwt authenticates with an assertion.
    if not client.authenticates_with_key:
        raise Refused("client is not registered for private_key_jwt")
    return client


def signature_verified(assertion, header, client):
    """The claims, once the signature verifies with the key the header names and an algorithm that
    key may use (never none, never HMAC: RFC 8725 3.1, 2.1)."""
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise Refused("kid is not a string")
    try:
        key = client_keys.client_key(client, kid)
    except client_keys.JwksUnavailable as e:
        raise Refused(f"jwks_uri unavailable: {e}") from None
    if key is None:
        raise Refused("unknown kid")
    alg = header.get("alg")
    if alg not in key.algorithms:
        raise Refused("algorithm not allowed for the key")
    try:
        parts = _JWS.decode_complete(assertion, key=key.verifier(alg), algorithms=[alg])
        return json.loads(parts["payload"])
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise Refused("bad signature") from None


def _endpoint_url(name):
    return settings.OIDC_ISSUER + reverse(name)


def audience_is_this_server(claims):
    # RFC 7523 3 item 3, OIDC Core 9: aud is the issuer or the token endpoint URL, or a list holding one.
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not {settings.OIDC_ISSUER, _endpoint_url("oauth2_provider:token")} & {
        a for a in audiences if isinstance(a, str)
    }:
        raise Refused("aud is not this server")


def _number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def not_expired(claims, now):
    # RFC 7523 3 item 4: exp is required, and the JWT is refused once it has passed.
    if not _number(claims.get("exp")) or claims["exp"] <= now.timestamp():
        raise Refused("exp missing or past")


def not_too_long_lived(claims, now):
    # RFC 7523 3 item 4: an exp unreasonably far in the future may be rejected.
    if claims["exp"] > now.timestamp() + MAX_ASSERTION_LIFETIME + LEEWAY:
        raise Refused("exp too far ahead")


def issued_in_the_past(claims, now):
    # RFC 7523 3 items 5 and 6: a JWT is not used before nbf; iat may not lie in the future.
    for name in ("iat", "nbf"):
        if name in claims and (not _number(claims[name]) or claims[name] > now.timestamp() + LEEWAY):
            raise Refused(f"{name} in the future")


def jti_unused(client, claims):
    # RFC 7523 3 item 7, OIDC Core 9: the jti is used only once. The INSERT decides races: of two
    # requests with one assertion, the second one's row violates the unique constraint.
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS or "\x00" in jti:
        raise Refused("jti missing")
    row = ClientAssertionJti(client=client, jti=jti, expires_at=datetime.fromtimestamp(claims["exp"], UTC))
    # storage.insert: the INSERT save() would send, without the ORM's third of this check's cost.
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint: the violation leaves the outer transaction usable
                storage.insert(row)
        else:
            storage.insert(row)  # autocommit: one INSERT, not BEGIN/INSERT/COMMIT
    except IntegrityError:
        raise Refused("jti reused") from None
