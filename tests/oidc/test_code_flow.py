"""The whole authorization-code + PKCE login over real HTTP against a live server."""

import secrets
import time

import jwt
import pytest
import requests

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.oidc.flows import Flow
from tests.support.browser import pkce_pair, query

pytestmark = pytest.mark.django_db(transaction=True)


def discover(issuer):
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


def verify_id_token(token, *, issuer, client_id, nonce):
    metadata = discover(issuer)
    jwks = requests.get(metadata["jwks_uri"], timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=issuer,
        options={"require": ["exp", "iat", "sub", "aud", "iss"]},
    )
    assert claims["nonce"] == nonce
    return claims


def test_discovery_derives_every_url_from_the_issuer(issuer):
    metadata = discover(issuer)
    assert metadata["issuer"] == issuer
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ):
        assert metadata[name].startswith(issuer + "/"), name
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert (
        requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()["issuer"]
        == issuer
    )


def test_code_flow_with_pkce_login_consent_token_and_userinfo(issuer, browser, user, rp_client):
    client, secret = rp_client
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    metadata = discover(issuer)

    page = browser.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    page = browser.login(page, user.email, PASSWORD)
    assert "Example RP" in page.text
    redirect = browser.consent(page, allow=True)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query(location)
    assert params["state"] == state
    assert params["iss"] == issuer  # RFC 9207

    before = int(time.time())
    token = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(body)

    claims = verify_id_token(body["id_token"], issuer=issuer, client_id=client.client_id, nonce=nonce)
    assert claims["sub"] == str(user.pk)
    assert claims["exp"] > before
    assert before - 60 <= claims["auth_time"] <= int(time.time())
    assert claims["email"] == "alice@example.com"

    info = requests.get(
        metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": str(user.pk),
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "updated_at": info.json()["updated_at"],
    }


def test_access_token_is_an_rfc9068_jwt(issuer, browser, user, rp_client):
    client, secret = rp_client
    # The step-by-step flow is the test above; tests/oidc/flows.Flow drives the same steps.
    body = Flow(issuer=issuer, browser=browser, client=client, secret=secret).tokens(email=user.email)
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    jwks = requests.get(f"{issuer}/jwks", timeout=10).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://api.example.com",
        issuer=issuer,
    )
    assert claims["sub"] == str(user.pk)
    assert claims["client_id"] == client.client_id
    assert claims["scope"] == "openid"
    assert {"iat", "exp", "jti", "auth_time"} <= set(claims)
