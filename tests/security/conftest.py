import secrets
from dataclasses import dataclass, field

import pytest
import requests

from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import Browser, pkce_pair, query

OTHER_REDIRECT_URI = "https://other.example.net/cb"


@dataclass
class Flow:
    """What a signed-in relying party holds after a real code flow, for attacks to start from."""

    issuer: str
    client_id: str
    secret: str
    browser: Browser
    access_token: str = ""
    refresh_token: str = ""
    id_token: str = ""
    extra: dict = field(default_factory=dict)


def authorize_params(
    client_id, challenge, *, redirect_uri=REDIRECT_URI, scope="openid profile email offline_access"
):
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def get_code(browser, client_id, *, email=None, password=PASSWORD, redirect_uri=REDIRECT_URI, **overrides):
    """Drive the real login (if needed) and consent forms to a code; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    params = {**authorize_params(client_id, challenge, redirect_uri=redirect_uri), **overrides}
    params = {k: v for k, v in params.items() if v is not None}
    page = browser.get("/authorize", params=params)
    if 'name="password"' in page.text:
        page = browser.login(page, email, password)
    if 'id="authorizationForm"' in page.text:
        page = browser.consent(page)
    assert page.status_code == 302, page.text[:500]
    location = page.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    return query(location)["code"], verifier


def exchange(issuer, code, verifier, client_id, secret, *, redirect_uri=REDIRECT_URI):
    return requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
        timeout=30,
    )


@pytest.fixture
def other_client(db):
    """A second confidential relying party, for cross-client attacks."""
    from provider.oidc.services import client_create

    return client_create(
        name="Other RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[OTHER_REDIRECT_URI],
        audiences=["https://other-api.example.net"],
    )


@pytest.fixture
def public_client(db):
    from provider.oidc.services import client_create

    client, _ = client_create(
        name="Public SPA",
        client_type="public",
        grant="authorization-code",
        redirect_uris=["http://127.0.0.1:9999/spa/callback"],
    )
    return client


@pytest.fixture
def flow(issuer, browser, user, rp_client):
    """A signed-in browser and the tokens of one complete code flow."""
    client, secret = rp_client
    code, verifier = get_code(browser, client.client_id, email=user.email)
    response = exchange(issuer, code, verifier, client.client_id, secret)
    assert response.status_code == 200, response.text
    body = response.json()
    return Flow(
        issuer=issuer,
        client_id=client.client_id,
        secret=secret,
        browser=browser,
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        id_token=body.get("id_token", ""),
    )


__all__ = ["POST_LOGOUT_URI", "REDIRECT_URI", "OTHER_REDIRECT_URI", "Flow", "get_code", "exchange"]
