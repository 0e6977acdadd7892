"""What the multi-factor tests share: a pinned TOTP clock, enrolment through the real pages, codes."""

import re

import pyotp

from tests.conftest import PASSWORD

# A fixed moment in the middle of a 30-second step, so a step either side is a whole step away.
NOW = 1_800_000_015


def pin_clock(monkeypatch, moment=NOW):
    """Make accounts.totp check codes at `moment` (the live server runs in this process)."""
    monkeypatch.setattr("accounts.totp.clock", lambda: moment)


def code_at(secret, moment=NOW, steps=0):
    return pyotp.TOTP(secret).at(moment, counter_offset=steps)


def secret_of(page):
    match = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page.text)
    assert match, page.text[:2000]
    return match.group(1).replace(" ", "")


def recovery_codes_of(page):
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", page.text)
    assert len(codes) == 10, page.text[:2000]
    return codes


def log_in(browser, email="alice@example.com", password=PASSWORD, next_url=None):
    page = browser.get("/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    return browser.login(page, email, password)


def enrol_totp(browser, moment=NOW):
    """From a signed-in browser: set up TOTP through the Security pages. Returns (secret, recovery codes)."""
    page = browser.get("/accounts/security/totp/")
    assert page.status_code == 200, page.status_code
    secret = secret_of(page)
    done = browser.submit(page, {"code": code_at(secret, moment)})
    assert done.status_code == 200, done.text[:1000]
    return secret, recovery_codes_of(done)


def totp_enrolled(browser, monkeypatch):
    """alice (the `user` fixture) enrols TOTP over HTTP at NOW and signs out: (secret, recovery codes).

    The clock stays pinned at NOW; a test moves it with pin_clock.
    """
    pin_clock(monkeypatch)
    log_in(browser)
    secret, codes = enrol_totp(browser)
    sign_out(browser)
    return secret, codes


def is_verify_page(response):
    return response.status_code == 200 and (
        'id="totp-form"' in response.text or 'id="recovery-form"' in response.text
    )


def submit_form(browser, page, form_id, fields):
    """Submit the form with this id (pages may hold others: the passkeys partial, sign out)."""
    at = page.text.index(f'id="{form_id}"')
    return browser.submit(page, fields, form_index=page.text.count("<form", 0, at) - 1)


def sign_out(browser):
    browser.http.cookies.clear()


def continue_link(page):
    """The "continue" link of the recovery-codes page."""
    import html

    match = re.search(r'<a href="([^"]*)" id="continue">', page.text)
    assert match, page.text[:2000]
    return html.unescape(match.group(1))


def confirm_totp_directly(user, moment=NOW):
    """Give `user` a confirmed authenticator without a browser (a session signed in before it existed)."""
    from accounts import totp

    secret = totp.totp_begin(user=user).secret
    assert totp.totp_confirm(user=user, code=code_at(secret, moment))
    return secret
