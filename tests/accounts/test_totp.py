"""TOTP over real HTTP: enrolment, the second sign-in step, replay, clock skew, lockout, the seed at rest."""

import pytest

from tests.accounts.mfa import (
    NOW,
    code_at,
    enrol_totp,
    is_verify_page,
    log_in,
    pin_clock,
    sign_out,
    submit_form,
    totp_enrolled,
)
from tests.oidc.flows import session_store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrolled(browser, user, monkeypatch):
    """alice with a confirmed authenticator (enrolled at NOW), signed out; returns its secret."""
    secret, _codes = totp_enrolled(browser, monkeypatch)
    return secret


def methods(browser):
    from accounts import authn

    return session_store(browser).get(authn.METHODS_KEY)


def test_a_password_alone_no_longer_signs_in_once_totp_is_on(browser, enrolled):
    page = log_in(browser)
    assert is_verify_page(page)
    assert methods(browser) is None
    assert "/accounts/login/" in browser.get("/accounts/profile/").url


def test_a_current_code_completes_the_sign_in(browser, enrolled, monkeypatch):
    pin_clock(monkeypatch, NOW + 30)
    page = log_in(browser)
    done = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW + 30)})
    assert done.status_code == 200 and done.url.endswith("/accounts/profile/"), done.url
    assert methods(browser) == ["pwd", "otp", "mfa"]


def test_a_code_already_used_is_refused(browser, enrolled, monkeypatch):
    pin_clock(monkeypatch, NOW + 30)
    code = code_at(enrolled, NOW + 30)
    page = log_in(browser)
    assert submit_form(browser, page, "totp-form", {"code": code}).url.endswith("/accounts/profile/")
    sign_out(browser)
    page = log_in(browser)
    again = submit_form(browser, page, "totp-form", {"code": code})
    assert is_verify_page(again) and "not correct" in again.text
    assert methods(browser) is None


def test_the_enrolment_code_cannot_sign_in_again(browser, enrolled):
    # The clock has not moved since enrolment: its code's step is spent.
    page = log_in(browser)
    again = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW)})
    assert is_verify_page(again) and methods(browser) is None


@pytest.mark.parametrize("steps, accepted", [(-1, True), (1, True), (-2, False), (2, False)])
def test_one_step_either_side_is_accepted_two_are_not(browser, enrolled, monkeypatch, steps, accepted):
    later = NOW + 300  # past the enrolment's step, so only the skew decides
    pin_clock(monkeypatch, later)
    page = log_in(browser)
    done = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, later, steps=steps)})
    assert (methods(browser) == ["pwd", "otp", "mfa"]) is accepted
    assert is_verify_page(done) is not accepted


def test_wrong_codes_count_toward_the_account_lockout(browser, enrolled, monkeypatch, settings):
    pin_clock(monkeypatch, NOW + 300)
    page = log_in(browser)
    wrong = "000000" if code_at(enrolled, NOW + 300) != "000000" else "111111"
    for _ in range(settings.SIGNET_LOGIN_FAILURE_LIMIT - 1):
        page = submit_form(browser, page, "totp-form", {"code": wrong})
        assert page.status_code == 200 and "not correct" in page.text
    locked = submit_form(browser, page, "totp-form", {"code": wrong})
    assert locked.status_code == 429 and 'id="lockout"' in locked.text
    # Locked: even the right code is refused now, and the password too.
    right = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW + 300)})
    assert right.status_code == 429 and methods(browser) is None
    sign_out(browser)
    assert log_in(browser).status_code == 429


def test_the_seed_is_encrypted_at_rest(browser, enrolled):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_totpdevice")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert enrolled not in row
    assert enrolled.lower() not in row.lower()
    import base64

    assert base64.b32decode(enrolled).hex() not in row


@pytest.mark.postgres
def test_two_concurrent_submissions_of_one_code_pass_once(enrolled, user, monkeypatch):
    """The step is claimed by a conditional UPDATE (run on PostgreSQL for real concurrency)."""
    import threading

    from django.db import connection

    from accounts import totp

    pin_clock(monkeypatch, NOW + 30)
    code = code_at(enrolled, NOW + 30)
    results, barrier = [], threading.Barrier(2)

    def submit():
        try:
            barrier.wait()
            results.append(totp.totp_verify(user=user, code=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]


def test_adding_and_removing_the_app_is_mailed_and_removal_needs_a_recent_sign_in(
    browser, user, monkeypatch, mailoutbox
):
    from accounts.models import TotpDevice
    from tests.conftest import PASSWORD
    from tests.oidc.flows import age_authentication

    pin_clock(monkeypatch)
    log_in(browser)
    enrol_totp(browser)
    assert [m.subject for m in mailoutbox] == ["A sign-in method was added to your Signet account"]
    age_authentication(browser, 600)
    security = browser.get("/accounts/security/")
    page = submit_form(browser, security, "totp-remove-form", {})
    assert 'id="reauth-password-form"' in page.text and TotpDevice.objects.filter(user=user).exists()
    wrong = submit_form(browser, page, "reauth-password-form", {"password": "not it"})
    assert 'id="reauth-password-form"' in wrong.text
    back = submit_form(browser, wrong, "reauth-password-form", {"password": PASSWORD})
    assert back.url.endswith("/accounts/security/")
    removed = submit_form(browser, back, "totp-remove-form", {})
    assert "was removed" in removed.text and not TotpDevice.objects.filter(user=user).exists()
    assert mailoutbox[-1].subject == "A sign-in method was removed from your Signet account"
    # The recovery codes went with the last factor, and the password alone signs in again.
    assert not user.recovery_codes.exists()
    sign_out(browser)
    assert log_in(browser).url.endswith("/accounts/profile/")


def test_next_survives_the_second_step_and_must_stay_on_this_site(browser, enrolled, monkeypatch):
    pin_clock(monkeypatch, NOW + 30)
    page = log_in(browser, next_url="/accounts/profile/edit/")
    done = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW + 30)})
    assert done.url.endswith("/accounts/profile/edit/")
    sign_out(browser)
    page = log_in(browser, next_url="https://evil.example/")
    done = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW + 60)})
    assert done.url.endswith("/accounts/profile/")


def test_a_half_done_sign_in_expires(browser, enrolled, monkeypatch):
    from accounts import authn

    page = log_in(browser)
    store = session_store(browser)
    pending = store[authn.PENDING_KEY]
    store[authn.PENDING_KEY] = {**pending, "started": pending["started"] - authn.PENDING_SECONDS - 1}
    store.save()
    pin_clock(monkeypatch, NOW + 30)
    late = submit_form(browser, page, "totp-form", {"code": code_at(enrolled, NOW + 30)})
    assert 'name="password"' in late.text and methods(browser) is None


def test_a_pending_sign_in_ends_another_users_session(browser, enrolled, django_user_model):
    from tests.conftest import PASSWORD

    django_user_model.objects.create_user("bob@example.com", PASSWORD)
    assert log_in(browser, email="bob@example.com").url.endswith("/accounts/profile/")
    assert is_verify_page(log_in(browser))  # alice's password, her code still owed
    assert "/accounts/login/" in browser.get("/accounts/profile/").url


def test_a_code_also_confirms_it_is_you_before_a_change(browser, enrolled, monkeypatch):
    from tests.oidc.flows import age_authentication

    pin_clock(monkeypatch, NOW + 30)
    submit_form(browser, log_in(browser), "totp-form", {"code": code_at(enrolled, NOW + 30)})
    age_authentication(browser, 600)
    page = submit_form(browser, browser.get("/accounts/security/"), "totp-remove-form", {})
    assert 'id="reauth-totp-form"' in page.text
    again = submit_form(browser, page, "reauth-totp-form", {"code": code_at(enrolled, NOW + 30)})
    assert 'id="reauth-totp-form"' in again.text and "not correct" in again.text  # that step is spent
    pin_clock(monkeypatch, NOW + 60)
    back = submit_form(browser, again, "reauth-totp-form", {"code": code_at(enrolled, NOW + 60)})
    assert back.url.endswith("/accounts/security/")
    assert "was removed" in submit_form(browser, back, "totp-remove-form", {}).text
