"""The end-user pages over real HTTP: sign-in, password reset by email, the account page."""

import re
from urllib.parse import quote, urlencode

import pytest

from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.support.browser import forms

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 77"


def login_url(client_id):
    authorize = "/authorize?" + urlencode(
        {"client_id": client_id, "response_type": "code", "scope": "openid"}
    )
    return "/accounts/login/?next=" + quote(authorize)


def test_login_page_names_the_client_from_next(browser, rp_client):
    client, _ = rp_client
    page = browser.get(login_url(client.client_id))
    assert '<strong class="client-name">Example RP</strong>' in page.text
    unknown = browser.get(login_url("no-such-client"))
    assert "client-name" not in unknown.text and "with your email and password" in unknown.text


def test_disabled_client_is_not_named(browser, rp_client):
    client, _ = rp_client
    client.is_active = False
    client.save()
    assert "Example RP" not in browser.get(login_url(client.client_id)).text


def test_client_name_is_escaped(browser, rp_client):
    client, _ = rp_client
    client.name = "<script>alert(1)</script>"
    client.save()
    page = browser.get(login_url(client.client_id))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_wrong_password_shows_the_error_and_is_audited(browser, user):
    page = browser.get("/accounts/login/")
    page = browser.login(page, user.email, "not the password")
    assert page.status_code == 200
    assert 'id="login-error"' in page.text and "The email or password is not correct." in page.text
    assert 'value="alice@example.com"' in page.text  # the email stays filled in
    event = AuditEvent.objects.get(event="login.failed")
    assert event.actor == "alice@example.com" and event.ip_address == "127.0.0.1"


def test_field_errors_show_next_to_their_field(browser):
    page = browser.login(browser.get("/accounts/login/"), "not-an-email", "")
    html = page.text
    email_at, password_at = html.index('name="username"'), html.index('name="password"')
    assert email_at < html.index('id="id_username_error"') < password_at
    assert password_at < html.index('id="id_password_error"')
    assert 'aria-invalid="true"' in html


def test_password_reset_through_the_email(browser, user, mailoutbox, issuer):
    page = browser.get("/accounts/login/")
    page = browser.get(re.search(r'href="([^"]+)">Forgot your password', page.text).group(1))
    page = browser.submit(page, {"email": "ALICE@example.com"})
    assert "Check your email" in page.text
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.com"] and mail.subject == "Reset your Signet password"
    link = re.search(r"(http\S+/password/reset/\S+/)", mail.body).group(1)
    assert link.startswith(issuer + "/")  # built from the issuer, not the Host header

    page = browser.get(link)
    assert "Choose a new password" in page.text
    page = browser.submit(page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Your password was changed" in page.text

    assert "not correct" in browser.login(browser.get("/accounts/login/"), user.email, PASSWORD).text
    assert "Your account" in browser.login(browser.get("/accounts/login/"), user.email, NEW_PASSWORD).text
    assert "This link no longer works" in browser.get(link).text  # one use only
    assert AuditEvent.objects.filter(event="password.reset", actor=str(user.pk)).exists()


def test_password_reset_for_unknown_email_looks_the_same_and_sends_nothing(browser, mailoutbox):
    page = browser.get("/accounts/password/reset/")
    page = browser.submit(page, {"email": "nobody@example.com"})
    assert "Check your email" in page.text
    assert mailoutbox == []


def test_reset_token_never_reaches_the_logs(browser, user, mailoutbox, caplog):
    browser.submit(browser.get("/accounts/password/reset/"), {"email": user.email})
    link = re.search(r"(http\S+/password/reset/\S+/)", mailoutbox[0].body).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]
    caplog.clear()
    browser.get(link)
    lines = [r.getMessage() for r in caplog.records if r.name == "signet.request"]
    assert any("/password/reset/" in line and "[redacted]" in line for line in lines)
    assert not any(token in line for line in lines)


def test_account_page_edit_name_and_change_password(browser, user):
    assert "Sign in" in browser.get("/accounts/profile/").text  # login required
    page = browser.login(browser.get("/accounts/login/"), user.email, PASSWORD)
    assert "Your account" in page.text and "Alice Liddell" in page.text
    assert 'href="/accounts/consents/"' in page.text or "consents" not in page.text

    page = browser.submit(browser.get("/accounts/profile/edit/"), {"first_name": "Alicia", "last_name": "L."})
    assert "Your profile was saved." in page.text and "Alicia L." in page.text

    form_page = browser.get("/accounts/password/change/")
    wrong = browser.submit(
        form_page, {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert 'id="id_old_password_error"' in wrong.text
    page = browser.submit(
        wrong, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert "Your password was changed." in page.text
    assert "Your account" in browser.get("/accounts/profile/").text  # still signed in
    assert AuditEvent.objects.filter(event="password.changed").exists()


def test_sign_out_is_a_post_and_audited(browser, user):
    page = browser.login(browser.get("/accounts/login/"), user.email, PASSWORD)
    logout_form = [f for f in forms(page.text) if f["action"] == "/accounts/logout/"]
    assert logout_form
    page = browser.submit(page, form_index=forms(page.text).index(logout_form[0]))
    assert "You are signed out" in page.text
    assert AuditEvent.objects.filter(event="logout", actor=str(user.pk)).exists()
    assert "Sign in" in browser.get("/accounts/profile/").text
