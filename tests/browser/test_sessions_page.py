"""The Sessions page in Chromium: two browsers of one user, one ends the other. Screenshot under
test-output/screenshots/sessions.png."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page):
    page.goto("/accounts/login/?next=/accounts/sessions/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_the_sessions_page_lists_both_browsers_and_ends_the_other(chromium, issuer, page, user, shoot):
    other_context = chromium.new_context(
        base_url=issuer, user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    )
    other = other_context.new_page()
    try:
        sign_in(other)
        sign_in(page)
        expect(page.get_by_role("heading", name="Where you are signed in")).to_be_visible()
        sessions = page.locator("li.session")
        expect(sessions).to_have_count(2)
        expect(page.locator("li.session.current")).to_contain_text("this browser")
        expect(page.locator("li.session:not(.current)")).to_contain_text("Firefox on Linux")
        expect(page.locator("li.session:not(.current) dd.methods")).to_have_text("password")
        shoot(page, "sessions")
        assert page.csp_errors == []

        with page.expect_navigation():
            page.locator("li.session:not(.current)").get_by_role("button", name="End this sign-in").click()
        expect(page.get_by_text("That sign-in was ended.")).to_be_visible()
        expect(page.locator("li.session")).to_have_count(1)
        # The other browser is signed out: its next page asks it to sign in.
        other.goto("/accounts/sessions/")
        expect(other.get_by_label("Password")).to_be_visible()
    finally:
        other_context.close()
