"""The end-user pages in a real browser (Chromium): sign in, consent, land on the relying party;
a wrong password; password reset through the email outbox; the account pages. Each page is
screenshotted under test-output/screenshots/, and no page may trip the Content-Security-Policy."""

import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a fresh and long passphrase 314"


def sign_in(page, email, password):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # the next step must see the answer, not the page it replaces
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_sign_in_consent_and_land_on_the_relying_party(page, shoot, user, rp_client, issuer):
    client, secret = rp_client
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    # The relying party is not a real host: the browser's request to it is answered right here.
    landing = "<h1>Example RP: signed in</h1>"
    page.route(
        "https://rp.example.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=landing),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": state,
            "nonce": "n-0S6_WzA2Mj",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"/authorize?{query}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.locator(".client-name").inner_text() == "Example RP"
    shoot(page, "01-login")

    sign_in(page, user.email, PASSWORD)
    page.wait_for_selector("#authorizationForm")
    assert "Example RP" in page.get_by_role("heading").first.inner_text()
    shoot(page, "02-consent")

    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{REDIRECT_URI}?**")
    shoot(page, "03-relying-party")
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state and params["iss"] == issuer

    token = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert token.status_code == 200 and "id_token" in token.json()
    assert page.csp_errors == []


def test_wrong_password_shows_the_error_by_the_form(page, shoot, user):
    page.goto("/accounts/login/")
    sign_in(page, user.email, "not my password")
    error = page.locator("#login-error")
    expect(error).to_have_text("The email or password is not correct.")
    assert error.get_attribute("role") == "alert"
    # The message sits inside the form, right above the fields, and the email is kept.
    assert page.locator("form #login-error + .field #id_username").count() == 1
    assert page.get_by_label("Email").input_value() == user.email
    shoot(page, "04-login-wrong-password")
    assert page.csp_errors == []


def test_password_reset_through_the_email_outbox(page, shoot, user, mailoutbox):
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    shoot(page, "05-password-reset")
    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shoot(page, "06-password-reset-sent")

    assert len(mailoutbox) == 1
    link = re.search(r"(http\S+/password/reset/\S+/)", mailoutbox[0].body).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#id_new_password2_error")).to_be_visible()  # too short: said by the field
    shoot(page, "07-password-reset-confirm-error")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password was changed")).to_be_visible()
    shoot(page, "08-password-reset-complete")

    page.get_by_role("link", name="Sign in").click()
    sign_in(page, user.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert page.csp_errors == []


def test_account_pages_and_sign_out(page, shoot, user):
    page.goto("/accounts/profile/")
    sign_in(page, user.email, PASSWORD)  # the account page asks for a sign-in first
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {user.email}")).to_be_visible()
    shoot(page, "09-account")

    page.get_by_role("link", name="Edit your name").click()
    page.get_by_label("First name").fill("Alicia")
    shoot(page, "10-account-edit-name")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()

    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill("wrong")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#id_old_password_error")).to_be_visible()
    shoot(page, "11-password-change-error")

    page.goto("/accounts/profile/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    shoot(page, "12-signed-out")
    assert page.csp_errors == []


def test_lockout_message_and_small_screens(page, shoot, user):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/accounts/login/")
    shoot(page, "13-login-phone")
    for _ in range(5):
        sign_in(page, user.email, "guessing")
    expect(page.locator("#lockout")).to_contain_text("Too many failed sign-in attempts")
    shoot(page, "14-login-locked")
    # Keyboard users see where they are: the focused field gets a visible outline.
    page.get_by_label("Email").focus()
    outline = page.get_by_label("Email").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    assert page.csp_errors == []


def test_operator_creates_a_client_in_the_admin_and_sees_its_secret_once(page, shoot, django_user_model):
    django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    page.goto("/admin/")
    page.get_by_label("Email").fill("operator@example.com")
    page.get_by_label("Password").fill("operator password 123")
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/oidc/client/add/")
    page.get_by_label("Name").fill("Billing")
    page.get_by_role("textbox", name="Redirect URIs:", exact=True).fill(
        "https://billing.example.com/callback"
    )
    shoot(page, "15-admin-client-add")
    page.get_by_role("button", name="Save", exact=True).click()
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) >= 43
    shoot(page, "16-admin-client-secret")
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()
    shoot(page, "17-admin-client-change")
    assert page.csp_errors == []
