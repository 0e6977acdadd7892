"""Multi-factor pages in Chromium: enrolment during a sign-in to a client that requires MFA, the
recovery codes, the second step, the Security page. Screenshots under test-output/screenshots/; no
page may trip the Content-Security-Policy (the QR code is inline SVG, no script, no inline style)."""

import secrets
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.accounts.mfa import NOW, code_at, pin_clock
from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, email, password):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def authorize_url(client):
    _verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"/authorize?{urlencode(query)}"


def test_enrolment_during_sign_in_then_the_second_step(
    page, chromium, issuer, shoot, user, rp_client, monkeypatch
):
    client, _secret = rp_client
    client.require_mfa = True
    client.save()
    pin_clock(monkeypatch)
    page.route("https://rp.example.com/**", lambda route: route.fulfill(status=200, body="<h1>RP</h1>"))

    page.goto(authorize_url(client))
    sign_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", name="Set up a second sign-in step")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    shoot(page, "mfa-01-enrol")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your authenticator app").fill(code_at(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator("#recovery-codes li").count() == 10
    shoot(page, "mfa-02-recovery-codes")
    page.get_by_role("link", name="I saved them: continue").click()
    page.wait_for_selector("#authorizationForm")
    with page.expect_request(lambda request: request.url.startswith(REDIRECT_URI)) as landed:
        page.get_by_role("button", name="Allow").click()
    assert "code=" in landed.value.url

    # Another browser: the password, then the code.
    pin_clock(monkeypatch, NOW + 30)
    other = chromium.new_context(viewport={"width": 1000, "height": 800}, base_url=issuer).new_page()
    other.csp_errors = []
    other.on(
        "console", lambda m: other.csp_errors.append(m.text) if "Content Security Policy" in m.text else None
    )
    other.goto("/accounts/login/")
    sign_in(other, user.email, PASSWORD)
    expect(other.get_by_role("heading", name="One more step")).to_be_visible()
    field = other.get_by_label("Code from your authenticator app")
    field.fill("000000")
    with other.expect_navigation():
        other.get_by_role("button", name="Verify").click()
    error_id = other.get_by_label("Code from your authenticator app").get_attribute("aria-describedby")
    assert "id_code_error" in error_id and other.locator("#id_code_error").is_visible()
    shoot(other, "mfa-03-second-step-wrong-code")
    other.get_by_label("Code from your authenticator app").fill(code_at(secret, NOW + 30))
    with other.expect_navigation():
        other.get_by_role("button", name="Verify").click()
    expect(other.get_by_role("heading", name="Your account")).to_be_visible()
    other.get_by_role("link", name="Security: second sign-in step and passkeys").click()
    expect(other.locator("#recovery-left")).to_have_text("10 recovery codes left.")
    shoot(other, "mfa-04-security")
    assert page.csp_errors == [] and other.csp_errors == []
    other.context.close()
