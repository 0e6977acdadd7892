"""Password-reset links are rate-limited per client address and per target email (issue 14, finding 5).

Over the per-address limit the requester gets a 429 page; over the per-email limit, the usual "sent"
page and no mail, so the limit never tells which addresses have accounts. Defaults: 5/h and 3/h.
"""

import types

import pytest

from tests.support.browser import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frozen_rate_window(monkeypatch):
    """django-ratelimit counts in fixed windows of wall-clock time: one must not end mid-test."""
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: 1_800_000_000.0))


@pytest.fixture
def from_address(issuer, settings):
    """A browser behind one trusted proxy, at the client address given."""
    settings.SIGNET_PROXY_COUNT = 1

    def browser(address):
        b = Browser(issuer)
        b.http.headers["X-Forwarded-For"] = address
        return b

    return browser


def ask_for_a_link(browser, email):
    return browser.submit(browser.get("/accounts/password/reset/"), {"email": email})


def test_one_email_gets_three_links_an_hour_from_anywhere_and_nobody_learns_if_it_has_an_account(
    from_address, user, mailoutbox
):
    known, unknown = [], []
    for n in range(5):
        # Five addresses, so the per-address limit never applies; the case of the email does not matter.
        known.append(ask_for_a_link(from_address(f"203.0.113.{n}"), "Alice@Example.com" if n else user.email))
        unknown.append(ask_for_a_link(from_address(f"198.51.100.{n}"), "nobody@example.com"))
    assert len(mailoutbox) == 3 and all(mail.to == [user.email] for mail in mailoutbox)
    for answer in known + unknown:
        assert answer.status_code == 200 and "Check your email" in answer.text
    assert {a.text for a in known} == {a.text for a in unknown}  # one page, whatever happened


def test_one_address_gets_five_links_an_hour_then_a_429(from_address, user, django_user_model, mailoutbox):
    emails = [user.email] + [f"someone{n}@example.com" for n in range(4)]
    for email in emails[1:3]:
        django_user_model.objects.create_user(email, "a long enough passphrase 1")
    crowd = from_address("203.0.113.7")
    for email in emails:
        assert "Check your email" in ask_for_a_link(crowd, email).text
    assert len(mailoutbox) == 3  # the three with an account

    refused = ask_for_a_link(crowd, user.email)
    assert refused.status_code == 429
    assert "Too many password reset links" in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["Cache-Control"] == "no-store"
    assert len(mailoutbox) == 3
    # A client cannot escape by adding addresses of its own to the left of the proxy's.
    crowd.http.headers["X-Forwarded-For"] = "192.0.2.1, 203.0.113.7"
    assert ask_for_a_link(crowd, user.email).status_code == 429

    assert "Check your email" in ask_for_a_link(from_address("203.0.113.8"), user.email).text
    assert len(mailoutbox) == 4


def test_an_ipv6_client_is_counted_by_its_prefix(from_address, user, mailoutbox):
    for n in range(5):
        ask_for_a_link(from_address(f"2001:db8:1:2::{n + 1:x}"), f"someone{n}@example.com")
    # Another address of the same /64: the same subscriber, the same count.
    assert ask_for_a_link(from_address("2001:db8:1:2:ffff::9"), user.email).status_code == 429
    assert "Check your email" in ask_for_a_link(from_address("2001:db8:1:3::1"), user.email).text
    assert len(mailoutbox) == 1


def test_limits_turned_off_send_every_link(from_address, user, settings, mailoutbox):
    settings.SIGNET_RATELIMIT_PASSWORD_RESET = ""  # what SIGNET_RATELIMIT_PASSWORD_RESET=off gives
    settings.SIGNET_RATELIMIT_PASSWORD_RESET_EMAIL = ""
    browser = from_address("203.0.113.9")
    for _ in range(7):
        assert ask_for_a_link(browser, user.email).status_code == 200
    assert len(mailoutbox) == 7
