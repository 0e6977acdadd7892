"""Helpers for the token-endpoint tests: codes minted as the authorize endpoint saves them, token calls."""

import base64
import secrets
import time
from datetime import timedelta
from urllib.parse import quote_plus

import jwt
import pytest
import requests
from django.utils import timezone

from tests.conftest import REDIRECT_URI
from tests.support.browser import pkce_pair

API = "https://api.example.com"
OTHER_API = "https://other.example.com"


def mint_code(client, user, *, scope="openid profile email", resource=(), auth_time=None, sid=None):
    """An authorization code row exactly as /authorize stores it after login and consent.

    Returns (code, verifier). Most token tests start here; tests/tokens/test_refresh_rotation.py and
    tests/oidc/test_code_flow.py go through the real login and consent pages.
    """
    from provider.oidc.models import AuthorizationCode

    verifier, challenge = pkce_pair()
    code = secrets.token_urlsafe(30)
    AuthorizationCode.objects.create(
        application=client,
        user=user,
        code=code,
        expires=timezone.now() + timedelta(seconds=60),
        redirect_uri=REDIRECT_URI,
        scope=scope,
        code_challenge=challenge,
        code_challenge_method="S256",
        nonce="",
        claims="{}",
        resource=list(resource),
        auth_time=auth_time if auth_time is not None else int(time.time()) - 5,
        sid=sid if sid is not None else secrets.token_hex(16),
    )
    return code, verifier


def token(issuer, data, auth=None, **kw):
    """POST /token; `auth` is (client_id, secret) for client_secret_basic."""
    return requests.post(f"{issuer}/token", data=data, auth=auth, timeout=30, **kw)


def exchange(issuer, client, secret, code, verifier, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }
    return token(issuer, data, auth=(client.client_id, secret) if secret else None)


def refresh(issuer, client, secret, refresh_token, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return token(issuer, data, auth=(client.client_id, secret) if secret else None)


def jwks_key(issuer, token_value):
    kid = jwt.get_unverified_header(token_value)["kid"]
    keys = requests.get(f"{issuer}/jwks", timeout=10).json()["keys"]
    return jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key


def decode(issuer, token_value, *, audience):
    """Verify a Signet JWT against the live JWKS and return its claims."""
    return jwt.decode(
        token_value, jwks_key(issuer, token_value), algorithms=["RS256"], audience=audience, issuer=issuer
    )


def unverified(token_value):
    return jwt.decode(token_value, options={"verify_signature": False})


def basic(client_id, secret):
    """client_secret_basic as RFC 6749 2.3.1 spells it: each part form-urlencoded, then joined."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def introspect(issuer, token_value, auth, **extra):
    return requests.post(
        f"{issuer}/introspect", data={"token": token_value, **extra}, headers=basic(*auth), timeout=30
    )


@pytest.fixture
def make_client(db):
    """Register a client through the service operators use; returns (client, secret)."""
    from provider.oidc.services import client_create

    def make(**kw):
        kw.setdefault("name", "Client " + secrets.token_hex(3))
        kw.setdefault("client_type", "confidential")
        kw.setdefault("grant", "authorization-code")
        if kw["grant"] == "authorization-code":
            kw.setdefault("redirect_uris", [REDIRECT_URI])
        return client_create(**kw)

    return make


@pytest.fixture
def signed_in(issuer, rp_client, user):
    """A token response from a code exchange for rp_client and alice: (client, secret, body)."""
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid profile email offline_access")
    response = exchange(issuer, client, secret, code, verifier)
    assert response.status_code == 200, response.text
    return client, secret, response.json()
