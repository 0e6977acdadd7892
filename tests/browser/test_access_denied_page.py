"""The refusal page in Chromium: a signed-in user outside a client's allowed groups stays at Signet,
reads why and whom to ask, and only "Go back" takes them to the relying party with access_denied."""

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.browser.test_pages_in_chromium import sign_in
from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_refusal_page_and_going_back(page, shoot, user, issuer, settings):
    from provider.oidc.services import client_create

    settings.SIGNET_OPERATOR_CONTACT = "it-help@example.com"
    Group.objects.create(name="finance")
    client, _secret = client_create(
        name="Payroll",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        allowed_groups=["finance"],
    )
    seen_at_rp = []
    page.route(
        "https://rp.example.com/**",
        lambda route: (
            seen_at_rp.append(route.request.url),
            route.fulfill(status=200, content_type="text/html", body="<h1>Payroll</h1>"),
        ),
    )
    _verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile",
            "state": state,
            "nonce": "n-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"/authorize?{query}")
    sign_in(page, user.email, PASSWORD)

    expect(page.get_by_role("heading", name="Your account is not allowed to use Payroll")).to_be_visible()
    expect(page.get_by_role("link", name="it-help@example.com")).to_have_attribute(
        "href", "mailto:it-help@example.com"
    )
    assert page.url.startswith(issuer + "/authorize")
    assert seen_at_rp == []  # nothing reached the relying party yet
    shoot(page, "access-denied-page")

    page.get_by_role("button", name="Go back to Payroll").click()
    page.wait_for_url(f"{REDIRECT_URI}?**")
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["error"] == "access_denied"
    assert params["state"] == state and params["iss"] == issuer
    assert page.csp_errors == []
