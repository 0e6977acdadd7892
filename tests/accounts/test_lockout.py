"""Brute-force protection on sign-in (accounts/lockout.py), over real HTTP.

A pair lock per (account, address), an address lock at a much higher limit, and a growing delay per
account that never becomes a lock. Time is moved with the `clock` fixture, never waited for.
"""

import re
from datetime import timedelta

import pytest
import requests
from axes.models import AccessAttempt
from django.core.management import call_command

from accounts import lockout
from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.support.browser import Browser
from tests.support.clock import FrozenClock

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 5  # SIGNET_LOGIN_FAILURE_LIMIT's default
BOB_PASSWORD = "bob's own long password"


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob@example.com", BOB_PASSWORD)


@pytest.fixture
def behind_proxy(settings):
    """One trusted proxy: each test browser can speak from its own client address."""
    settings.SIGNET_PROXY_COUNT = 1


@pytest.fixture
def clock(monkeypatch):
    """The time every failure is recorded at and every lock measured with; moves only when told."""
    frozen = FrozenClock()
    monkeypatch.setattr(lockout, "clock", frozen, raising=False)
    return frozen


def browser_from(issuer, address):
    browser = Browser(issuer)
    browser.http.headers["X-Forwarded-For"] = address
    return browser


def attempt(browser, email, password):
    return browser.login(browser.get("/accounts/login/"), email, password)


def attempt_from(issuer, address, email, password):
    return attempt(browser_from(issuer, address), email, password)


def signed_in(page):
    return page.status_code == 200 and "Your account" in page.text


def fail_until_locked(browser, email):
    for _ in range(LIMIT - 1):
        page = attempt(browser, email, "wrong password")
        assert page.status_code == 200 and "not correct" in page.text
    return attempt(browser, email, "wrong password")


def lockout_text(page):
    return re.search(r'<div class="alert" role="alert" id="lockout">([^<]*)</div>', page.text).group(1)


# --- the (account, address) pair -------------------------------------------------------------


def test_pair_is_locked_after_the_limit_with_a_message_saying_so(issuer, user, behind_proxy):
    browser = browser_from(issuer, "203.0.113.10")
    locked = fail_until_locked(browser, user.email)
    assert locked.status_code == 429
    message = lockout_text(locked)
    assert message.startswith("Too many failed sign-in attempts for this account from your network")
    assert "15 minutes" in message
    assert int(locked.headers["Retry-After"]) == 15 * 60
    # Even the right password is refused now from that address, whatever the case of the email.
    again = attempt(browser, "ALICE@example.com", PASSWORD)
    assert again.status_code == 429 and "Your account" not in again.text
    assert AuditEvent.objects.filter(event="login.locked_out").exists()
    assert AuditEvent.objects.filter(event="login.failed").count() >= LIMIT


def test_failures_from_another_address_do_not_lock_the_owner_out(issuer, user, behind_proxy):
    """Finding 2: five wrong passwords for someone's email, from anywhere, locked its owner out."""
    attacker = browser_from(issuer, "203.0.113.66")
    assert fail_until_locked(attacker, user.email).status_code == 429
    assert attempt(attacker, user.email, "another guess").status_code == 429
    assert signed_in(attempt_from(issuer, "198.51.100.5", user.email, PASSWORD))


def test_refused_attempts_do_not_prolong_a_lock(issuer, user, behind_proxy, clock):
    browser = browser_from(issuer, "203.0.113.16")
    assert fail_until_locked(browser, user.email).status_code == 429
    clock.advance(14 * 60)
    for _ in range(3):
        refused = attempt(browser, user.email, "still guessing")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 60
    clock.advance(60)
    assert signed_in(attempt(browser, user.email, PASSWORD))


def test_lockout_ends_after_the_window(issuer, user, behind_proxy):
    browser = browser_from(issuer, "203.0.113.11")
    assert fail_until_locked(browser, user.email).status_code == 429
    # Move the failures 16 minutes into the past instead of waiting for them to age.
    for row in AccessAttempt.objects.all():
        row.attempt_time -= timedelta(minutes=16)
        row.save(update_fields=["attempt_time"])
    assert signed_in(attempt(browser, user.email, PASSWORD))


def test_operator_unlocks_an_account(issuer, user, behind_proxy):
    browser = browser_from(issuer, "203.0.113.12")
    assert fail_until_locked(browser, user.email).status_code == 429
    call_command("axes_reset_username", "alice@example.com")
    assert signed_in(attempt(browser, user.email, PASSWORD))


def test_limits_come_from_settings(issuer, user, settings, behind_proxy):
    settings.AXES_FAILURE_LIMIT = 2
    browser = browser_from(issuer, "203.0.113.15")
    assert attempt(browser, user.email, "wrong").status_code == 200
    assert attempt(browser, user.email, "wrong").status_code == 429


# --- one address, many accounts --------------------------------------------------------------


def test_one_address_failing_across_accounts_locks_no_one_else_until_the_address_limit(
    issuer, user, bob, settings, behind_proxy
):
    """Finding 2: five failures from one address, over any accounts, locked every account from there."""
    settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT = 12
    office = "203.0.113.66"
    for i in range(11):
        assert attempt_from(issuer, office, f"guess{i}@example.com", "wrong password").status_code == 200
    # Eleven failures from the office's address: its other people still sign in from it.
    assert signed_in(attempt_from(issuer, office, bob.email, BOB_PASSWORD))
    locked = attempt_from(issuer, office, "guess11@example.com", "wrong password")
    assert locked.status_code == 429
    message = lockout_text(locked)
    assert message.startswith("Too many failed sign-in attempts from your network, across accounts")
    assert "15 minutes" in message and int(locked.headers["Retry-After"]) == 15 * 60
    refused = attempt_from(issuer, office, user.email, PASSWORD)
    assert refused.status_code == 429 and "across accounts" in lockout_text(refused)
    # Elsewhere, nobody is affected.
    assert signed_in(attempt_from(issuer, "198.51.100.5", user.email, PASSWORD))


def test_operator_unlocks_an_address(issuer, user, bob, settings, behind_proxy):
    settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for i in range(3):
        attempt_from(issuer, "203.0.113.13", f"guess{i}@example.com", "wrong password")
    assert attempt_from(issuer, "203.0.113.13", bob.email, BOB_PASSWORD).status_code == 429
    call_command("axes_reset_ip", "203.0.113.13")
    assert signed_in(attempt_from(issuer, "203.0.113.13", bob.email, BOB_PASSWORD))


# --- one account, many addresses -------------------------------------------------------------


def test_account_throttle_grows_and_then_lets_the_owner_in(issuer, user, settings, behind_proxy, clock):
    settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = 3
    settings.SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS = 4
    botnet = (f"192.0.2.{n}" for n in range(1, 100))
    for _ in range(3):
        assert attempt_from(issuer, next(botnet), user.email, "wrong").status_code == 200
    # Past the limit each failure doubles the wait: 1, 2, 4 seconds, then no longer (the cap).
    for wait in (1, 2, 4, 4):
        throttled = attempt_from(issuer, next(botnet), user.email, "wrong")
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) == wait
        assert lockout_text(throttled) == (
            "Too many failed sign-in attempts for this account: it is throttled. "
            f"Wait {wait} second{'s' if wait > 1 else ''} and try again."
        )
        clock.advance(wait - 1)
        # Refused attempts count for nothing: they neither lengthen the wait nor let anyone through.
        assert int(attempt_from(issuer, next(botnet), user.email, PASSWORD).headers["Retry-After"]) == 1
        clock.advance(1)
        assert attempt_from(issuer, next(botnet), user.email, "wrong").status_code == 200
    # The owner, from an address never seen before, waits out the last delay and is in.
    owner = browser_from(issuer, "198.51.100.77")
    assert attempt(owner, user.email, PASSWORD).status_code == 429
    clock.advance(4)
    assert signed_in(attempt(owner, user.email, PASSWORD))


def test_the_throttle_spares_an_address_the_owner_signed_in_from(issuer, user, settings, behind_proxy, clock):
    settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = 3
    home = "198.51.100.30"
    assert signed_in(attempt_from(issuer, home, user.email, PASSWORD))
    for n in range(1, 5):
        attempt_from(issuer, f"192.0.2.{n}", user.email, "wrong")
    assert attempt_from(issuer, "192.0.2.50", user.email, PASSWORD).status_code == 429
    assert signed_in(attempt_from(issuer, home, user.email, PASSWORD))


def test_completed_password_reset_clears_the_accounts_counters(
    issuer, user, settings, behind_proxy, mailoutbox, clock
):
    """Finding 2: the owner stayed locked out from their own address even after resetting the password."""
    # The clock stands still: the one-second throttle must not run out before the attempt that checks
    # it (it did, with 1.5 s between the two requests), nor before the reset that clears it.
    settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = 6
    home = browser_from(issuer, "198.51.100.40")
    assert fail_until_locked(home, user.email).status_code == 429
    assert attempt_from(issuer, "192.0.2.1", user.email, "wrong").status_code == 200
    throttled = attempt_from(issuer, "192.0.2.99", user.email, PASSWORD)
    assert throttled.status_code == 429 and "throttled" in lockout_text(throttled)

    home.submit(home.get("/accounts/password/reset/"), {"email": user.email})
    link = re.search(r"(http\S+/password/reset/\S+/)", mailoutbox[0].body).group(1)
    new_password = "a fresh passphrase after the reset"
    done = home.submit(home.get(link), {"new_password1": new_password, "new_password2": new_password})
    assert "Your password was changed" in done.text

    assert not AccessAttempt.objects.filter(username="alice@example.com").exists()
    assert signed_in(attempt(home, user.email, new_password))


# --- the password grant ------------------------------------------------------------------------


@pytest.fixture
def password_client(db):
    from provider.oidc.services import client_create

    return client_create(
        name="Legacy app", client_type="confidential", grant="password", audiences=["https://api.example.com"]
    )


def password_grant(issuer, client, address, password):
    client, secret = client
    return requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": password,
            "scope": "openid",
        },
        auth=(client.client_id, secret),
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


def test_password_grant_says_which_lock_applies(issuer, user, settings, behind_proxy, password_client, clock):
    # The attempt that reaches the limit had its password checked: it is told so, the next is refused.
    for _ in range(LIMIT):
        assert password_grant(issuer, password_client, "203.0.113.20", "wrong").status_code == 400
    locked = password_grant(issuer, password_client, "203.0.113.20", PASSWORD)
    assert locked.status_code == 429 and locked.headers["Retry-After"] == str(15 * 60)
    assert locked.json()["error"] == "invalid_grant" and "access_token" not in locked.json()
    assert locked.json()["error_description"].startswith(
        "Too many failed sign-in attempts for this account from your network"
    )
    settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = LIMIT
    throttled = password_grant(issuer, password_client, "198.51.100.21", PASSWORD)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert "it is throttled" in throttled.json()["error_description"]
    clock.advance(1)
    assert "access_token" in password_grant(issuer, password_client, "198.51.100.21", PASSWORD).json()


# --- records and addresses -----------------------------------------------------------------------


def test_attempt_records_keep_no_password(issuer, user, behind_proxy):
    attempt_from(issuer, "203.0.113.14", user.email, "hunter2-secret-guess")
    row = AccessAttempt.objects.get()
    assert "hunter2-secret-guess" not in row.post_data + row.get_data
    assert row.username == "alice@example.com" and row.ip_address == "203.0.113.14"


def test_ipv6_addresses_in_one_64_share_a_counter(issuer, user, behind_proxy):
    """Finding 7: every address of an IPv6 /64 counted on its own, 2^64 fresh counters for one client."""
    for host in range(1, LIMIT + 1):
        attempt_from(issuer, f"2001:db8:1:2::{host:x}", user.email, "wrong")
    locked = attempt_from(issuer, "2001:db8:1:2:ffff:ffff:ffff:ffff", user.email, PASSWORD)
    assert locked.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::"}
    # The next /64 is someone else.
    assert signed_in(attempt_from(issuer, "2001:db8:1:3::1", user.email, PASSWORD))
    # The audit trail keeps the full address each failure came from.
    addresses = set(AuditEvent.objects.filter(event="login.failed").values_list("ip_address", flat=True))
    assert "2001:db8:1:2::5" in addresses
