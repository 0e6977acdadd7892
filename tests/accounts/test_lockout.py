"""Brute-force protection on sign-in (django-axes): per account and per address, with a clear message."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.support.browser import Browser

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 5  # SIGNET_LOGIN_FAILURE_LIMIT's default


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob@example.com", "bob's own long password")


@pytest.fixture
def behind_proxy(settings):
    """One trusted proxy: each test browser can speak from its own client address."""
    settings.SIGNET_PROXY_COUNT = 1


def browser_from(issuer, address):
    browser = Browser(issuer)
    browser.http.headers["X-Forwarded-For"] = address
    return browser


def attempt(browser, email, password):
    return browser.login(browser.get("/accounts/login/"), email, password)


def fail_until_locked(browser, email):
    for _ in range(LIMIT - 1):
        page = attempt(browser, email, "wrong password")
        assert page.status_code == 200 and "not correct" in page.text
    return attempt(browser, email, "wrong password")


def test_account_is_locked_after_the_limit_with_a_clear_message(issuer, user, behind_proxy):
    browser = browser_from(issuer, "203.0.113.10")
    locked = fail_until_locked(browser, user.email)
    assert locked.status_code == 429
    assert 'id="lockout"' in locked.text and "Too many failed sign-in attempts" in locked.text
    assert "15 minutes" in locked.text
    assert int(locked.headers["Retry-After"]) == 15 * 60
    # Even the right password is refused now, and from another address too (per account).
    again = attempt(browser_from(issuer, "198.51.100.20"), "ALICE@example.com", PASSWORD)
    assert again.status_code == 429 and "Your account" not in again.text
    assert AuditEvent.objects.filter(event="login.locked_out").exists()
    assert AuditEvent.objects.filter(event="login.failed").count() >= LIMIT


def test_address_is_locked_after_the_limit_whatever_account_it_tries(issuer, user, bob, behind_proxy):
    attacker = browser_from(issuer, "203.0.113.66")
    for i in range(LIMIT):
        attempt(attacker, f"guess{i}@example.com", "wrong password")
    assert attempt(attacker, bob.email, "bob's own long password").status_code == 429
    # Bob, from his own address, is not affected.
    own = attempt(browser_from(issuer, "198.51.100.5"), bob.email, "bob's own long password")
    assert "Your account" in own.text


def test_lockout_ends_after_the_window(issuer, user, behind_proxy):
    browser = browser_from(issuer, "203.0.113.11")
    assert fail_until_locked(browser, user.email).status_code == 429
    # Move the failures 16 minutes into the past instead of waiting for them to age.
    for row in AccessAttempt.objects.all():
        row.attempt_time -= timedelta(minutes=16)
        row.save(update_fields=["attempt_time"])
    assert "Your account" in attempt(browser, user.email, PASSWORD).text


def test_operator_unlocks_an_account(issuer, user, behind_proxy):
    assert fail_until_locked(browser_from(issuer, "203.0.113.12"), user.email).status_code == 429
    call_command("axes_reset_username", "alice@example.com")
    assert "Your account" in attempt(browser_from(issuer, "198.51.100.12"), user.email, PASSWORD).text


def test_operator_unlocks_an_address(issuer, user, bob, behind_proxy):
    attacker = browser_from(issuer, "203.0.113.13")
    for i in range(LIMIT):
        attempt(attacker, f"guess{i}@example.com", "wrong password")
    assert attempt(attacker, bob.email, "bob's own long password").status_code == 429
    call_command("axes_reset_ip", "203.0.113.13")
    assert "Your account" in attempt(attacker, bob.email, "bob's own long password").text


def test_attempt_records_keep_no_password(issuer, user, behind_proxy):
    attempt(browser_from(issuer, "203.0.113.14"), user.email, "hunter2-secret-guess")
    row = AccessAttempt.objects.get()
    assert "hunter2-secret-guess" not in row.post_data + row.get_data
    assert row.username == "alice@example.com" and row.ip_address == "203.0.113.14"


def test_limits_come_from_settings(issuer, user, settings, behind_proxy):
    settings.AXES_FAILURE_LIMIT = 2
    browser = browser_from(issuer, "203.0.113.15")
    assert attempt(browser, user.email, "wrong").status_code == 200
    assert attempt(browser, user.email, "wrong").status_code == 429
