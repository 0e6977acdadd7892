"""Audiences: RFC 8707 resource at /authorize and /token, checked against the client's audiences."""

import pytest

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair, query
from tests.tokens.conftest import API, OTHER_API, exchange, mint_code, refresh, token, unverified

pytestmark = pytest.mark.django_db(transaction=True)


def _aud(response):
    assert response.status_code == 200, response.text
    return unverified(response.json()["access_token"])["aud"]


def test_default_audience_is_the_clients_first_then_the_setting_then_the_client(
    issuer, make_client, user, settings
):
    client, secret = make_client(audiences=[API, OTHER_API])
    code, verifier = mint_code(client, user)
    assert _aud(exchange(issuer, client, secret, code, verifier)) == API

    bare, bare_secret = make_client()
    code, verifier = mint_code(bare, user)
    assert _aud(exchange(issuer, bare, bare_secret, code, verifier)) == bare.client_id

    settings.SIGNET_DEFAULT_AUDIENCE = "https://default.example.com"
    code, verifier = mint_code(bare, user)
    assert _aud(exchange(issuer, bare, bare_secret, code, verifier)) == "https://default.example.com"


def test_resource_at_the_token_endpoint(issuer, make_client, user):
    client, secret = make_client(audiences=[API, OTHER_API])
    code, verifier = mint_code(client, user)
    assert _aud(exchange(issuer, client, secret, code, verifier, resource=OTHER_API)) == OTHER_API

    code, verifier = mint_code(client, user)
    refused = exchange(issuer, client, secret, code, verifier, resource="https://evil.example.com")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"


def test_resource_granted_at_authorize_narrows_the_token(issuer, make_client, user):
    client, secret = make_client(audiences=[API, OTHER_API])
    code, verifier = mint_code(client, user, resource=[API])
    response = exchange(issuer, client, secret, code, verifier)
    assert _aud(response) == API
    # A refresh keeps the resource, and cannot widen it.
    rt = response.json()["refresh_token"]
    widened = refresh(issuer, client, secret, rt, resource=OTHER_API)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"
    assert _aud(refresh(issuer, client, secret, rt)) == API

    code, verifier = mint_code(client, user, resource=[API])
    escalated = exchange(issuer, client, secret, code, verifier, resource=OTHER_API)
    assert escalated.status_code == 400 and escalated.json()["error"] == "invalid_target"


def test_two_resources_give_two_audiences(issuer, make_client, user):
    client, secret = make_client(audiences=[API, OTHER_API])
    code, verifier = mint_code(client, user)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "resource": [API, OTHER_API],
    }
    assert sorted(_aud(token(issuer, data, auth=(client.client_id, secret)))) == sorted([API, OTHER_API])


def _authorize(browser, client, resources, state="s-1"):
    verifier, challenge = pkce_pair()
    params = [
        ("response_type", "code"),
        ("client_id", client.client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        *[("resource", r) for r in resources],
    ]
    return browser.get("/authorize", params=params), verifier


def test_authorize_refuses_a_resource_outside_the_clients_audiences(browser, make_client, user):
    client, _secret = make_client(audiences=[API])
    page, _ = _authorize(browser, client, [API, "https://evil.example.com"])
    if page.status_code == 200:  # refused after sign-in, or (depending on rule order) before it
        page = browser.login(page, user.email, PASSWORD)
    assert page.status_code == 302
    params = query(page.headers["Location"])
    assert page.headers["Location"].startswith(REDIRECT_URI)
    assert params["error"] == "invalid_target"
    assert params["state"] == "s-1"


def test_authorize_records_an_allowed_resource_on_the_code(issuer, browser, make_client, user):
    client, secret = make_client(audiences=[API, OTHER_API])
    page, verifier = _authorize(browser, client, [OTHER_API])
    redirect = browser.consent(browser.login(page, user.email, PASSWORD))
    code = query(redirect.headers["Location"])["code"]
    assert _aud(exchange(issuer, client, secret, code, verifier)) == OTHER_API
