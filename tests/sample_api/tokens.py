"""Getting real tokens from the live provider, and forging bad ones with keys of our own."""

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import quote_plus

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import PASSWORD
from tests.support.browser import pkce_pair, query


def basic(client_id, secret):
    # RFC 6749 2.3.1: both parts are form-urlencoded first (a client id may hold a ":").
    return (quote_plus(client_id), quote_plus(secret))


def api_client(audience, *, scopes=None, name="Sample API caller"):
    """A confidential client-credentials client whose tokens are for `audience`: (client, secret)."""
    from provider.oidc.services import client_create

    return client_create(
        name=name, client_type="confidential", grant="client-credentials", audiences=[audience], scopes=scopes
    )


def client_credentials_token(issuer, client, secret, scope=None, **extra):
    data = {"grant_type": "client_credentials", **extra}
    if scope is not None:
        data["scope"] = scope
    response = requests.post(
        f"{issuer}/token",
        data=data,
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def code_flow_tokens(browser, issuer, user, client, secret, redirect_uri, scope="openid profile"):
    """The token response of a full authorization-code + PKCE login driven through the browser."""
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(16)
    page = browser.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "s",
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    redirect = browser.consent(browser.login(page, user.email, PASSWORD))
    params = query(redirect.headers["Location"])
    assert "code" in params, params
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=basic(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def access_claims(issuer, audience, **overrides):
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "3f1e2d4c-0000-4000-8000-000000000001",
        "aud": audience,
        "client_id": "some-client",
        "scope": "openid profile",
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_hex(16),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def provider_signed(claims, typ="at+jwt"):
    """Signed by the provider's real active key: only the claims are wrong."""
    from keys import jwt as provider_jwt

    return provider_jwt.sign(claims, typ=typ)


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def own_signed(claims, key, kid, typ="at+jwt"):
    """Signed by a key the provider never published."""
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": typ})


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header, claims):
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def unsigned(claims, kid):
    """alg "none": no signature at all."""
    return _segments({"alg": "none", "typ": "at+jwt", "kid": kid}, claims) + "."


def hs256_with_public_key(claims, kid, public_jwk):
    """The classic algorithm confusion: HMAC keyed with the provider's public key (PEM)."""
    public_pem = jwt.PyJWK(public_jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _segments({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def provider_jwks(issuer):
    return requests.get(f"{issuer}/jwks", timeout=10).json()
