"""Branding and languages in a real browser (Chromium): the operator's name, logo and colour on the
sign-in page, and the sign-in page in German chosen by ui_locales or by the browser's language. Each
page is screenshotted under test-output/screenshots/, and none may trip the Content-Security-Policy."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)

ACME = {
    "name": "Acme ID",
    "colour": "#0a7d38",
    "rgb": "rgb(10, 125, 56)",
    "logo": "/static/signet/favicon.svg",
}


@pytest.fixture
def acme(settings):
    settings.SIGNET_SITE_NAME = ACME["name"]
    settings.SIGNET_PRIMARY_COLOR = ACME["colour"]
    settings.SIGNET_LOGO_URL = ACME["logo"]


def authorization_url(client, **extra):
    _verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/authorize?{urlencode(params)}"


def test_a_branded_sign_in_page(page, shoot, acme, rp_client):
    client, _secret = rp_client
    page.goto(authorization_url(client))
    expect(page).to_have_title("Sign in · Acme ID")
    expect(page.locator("header.brand .site-name")).to_have_text("Acme ID")
    expect(page.locator("footer")).to_have_text("Acme ID · OpenID Connect")

    logo = page.locator("header.brand img.logo")
    expect(logo).to_have_attribute("src", ACME["logo"])
    page.wait_for_function("() => document.querySelector('header.brand img.logo').complete")
    assert logo.evaluate("img => img.naturalWidth") > 0  # it loaded: the CSP let it through

    button = page.get_by_role("button", name="Sign in", exact=True)
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == ACME["rgb"]
    assert button.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    link = page.get_by_role("link", name="Forgot your password?")
    assert link.evaluate("a => getComputedStyle(a).color") == ACME["rgb"]
    assert "Signet" not in page.locator("body").inner_text()
    shoot(page, "branding-sign-in")
    assert (SCREENSHOTS / "branding-sign-in.png").stat().st_size > 0
    assert page.csp_errors == []


def test_sign_in_and_consent_in_german_through_ui_locales(page, shoot, user, rp_client):
    client, _secret = rp_client
    page.goto(authorization_url(client, ui_locales="de en"))
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page).to_have_title("Anmelden · Signet")
    expect(page.get_by_role("link", name="Passwort vergessen?")).to_be_visible()
    shoot(page, "i18n-sign-in-de-ui-locales")

    page.get_by_label("E-Mail", exact=True).fill(user.email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_selector("#authorizationForm")
    expect(page.get_by_role("heading", name="Example RP erlauben?")).to_be_visible()
    expect(page.get_by_role("button", name="Erlauben")).to_be_visible()
    expect(page.get_by_role("button", name="Ablehnen")).to_be_visible()
    shoot(page, "i18n-consent-de")
    assert page.csp_errors == []


def test_sign_in_in_german_from_the_browser_language(chromium, issuer, shoot):
    context = chromium.new_context(viewport={"width": 1000, "height": 800}, base_url=issuer, locale="de-DE")
    try:
        page = context.new_page()
        csp_errors = []
        page.on(
            "console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None
        )
        page.goto("/accounts/login/")
        expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator(".lead")).to_have_text("mit E-Mail-Adresse und Passwort")
        shoot(page, "i18n-sign-in-de-accept-language")

        page.get_by_label("E-Mail", exact=True).fill("nobody@example.com")
        page.get_by_label("Passwort", exact=True).fill("wrong")
        with page.expect_navigation():
            page.get_by_role("button", name="Anmelden", exact=True).click()
        expect(page.locator("#login-error")).to_have_text("E-Mail-Adresse oder Passwort ist falsch.")
        shoot(page, "i18n-sign-in-de-error")
        assert csp_errors == []
    finally:
        context.close()
