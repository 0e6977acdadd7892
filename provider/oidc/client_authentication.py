"""Client authentication (RFC 6749 2.3): client_secret_basic, client_secret_post, and none for public
clients. Imports no DOT.

An unknown client id and a wrong secret must be indistinguishable, in the response and in the time it
takes: both hash the presented secret once and compare it in constant time (against a dummy hash
when there is no client), and both fail through the same path.
"""

import base64
import binascii
import secrets
from functools import cache
from typing import NamedTuple
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.utils.crypto import constant_time_compare

from provider.audit import audit

from . import client_cache
from .errors import OAuthError
from .hashers import ALGORITHM
from .models import Client

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"


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
    client = client_cache.client_get(presented.client_id)
    if client is not None and not client.is_active:
        client = None
    confidential = client is not None and client.client_type == Client.CLIENT_CONFIDENTIAL
    stored = client.client_secret if confidential else None
    if stored_secret_matches(presented.secret, stored):
        return client
    audit("client.authentication_failed", client_id=presented.client_id, method=presented.method)
    return None


def authenticate(*, http, params, public_allowed=True):
    """(client, method) for the request's client, or OAuthError invalid_client.

    A client that presents a secret (Basic or in the body) must be a confidential client with that
    secret. A request with only a client_id in the body is a public client's (RFC 6749 2.1, 3.2.1),
    where the endpoint allows one; a confidential client must always authenticate.
    """
    authorization = http.headers.get("Authorization")
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
    client = client_cache.client_get(client_id)
    if client is None or not client.is_active or client.client_type != Client.CLIENT_PUBLIC:
        raise _failed()
    return client, NONE
