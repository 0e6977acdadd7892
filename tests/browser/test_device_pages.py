"""The device flow's pages in Chromium: the link a TV shows, sign-in, the code prefilled, the client and
its scopes, Allow; a wrong code said by its field; Deny. Screenshots under test-output/screenshots/; no
page may trip the Content-Security-Policy."""

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def tv(db):
    from provider.oidc.services import client_create

    client, _ = client_create(name="Living-room TV", client_type="public", grant="device-code")
    return client


def device_start(issuer, client, scope="openid profile email"):
    response = requests.post(
        f"{issuer}/device/authorize", data={"client_id": client.client_id, "scope": scope}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def poll(issuer, client, device_code):
    data = {"grant_type": GRANT, "device_code": device_code, "client_id": client.client_id}
    return requests.post(f"{issuer}/token", data=data, timeout=10)


def sign_in(page, email, password):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_the_link_a_device_shows_signs_in_and_allows_it(page, issuer, shoot, user, tv):
    started = device_start(issuer, tv)
    page.goto(started["verification_uri_complete"])
    sign_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", name="Connect a device")).to_be_visible()
    expect(page.get_by_label("Code")).to_have_value(started["user_code"])
    shoot(page, "device-01-enter-code")

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Allow Living-room TV on your device?")).to_be_visible()
    expect(page.locator("ul.scopes")).to_contain_text("See your name and profile")
    expect(page.locator("ul.scopes")).to_contain_text("See your email address")
    expect(page.locator("#device-user-code")).to_have_text(started["user_code"])
    shoot(page, "device-02-confirm")

    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Device connected")).to_be_visible()
    shoot(page, "device-03-connected")
    tokens = poll(issuer, tv, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert "id_token" in tokens.json()
    assert page.csp_errors == []


def test_a_wrong_code_is_said_by_its_field_and_deny_refuses_the_device(page, issuer, shoot, user, tv):
    started = device_start(issuer, tv)
    page.goto("/device")
    sign_in(page, user.email, PASSWORD)
    field = page.get_by_label("Code")
    expect(field).to_have_value("")
    field.fill("bcdf-ghjk")
    page.get_by_role("button", name="Continue").click()
    error = page.locator("#id_user_code_error")
    expect(error).to_contain_text("That code is unknown or has expired")
    assert page.get_by_label("Code").get_attribute("aria-describedby") == "id_user_code_error"
    shoot(page, "device-04-wrong-code")

    page.get_by_label("Code").fill(started["user_code"].lower().replace("-", ""))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Request denied")).to_be_visible()
    shoot(page, "device-05-denied")
    assert poll(issuer, tv, started["device_code"]).json()["error"] == "access_denied"
    assert page.csp_errors == []
