"""Recovery codes over real HTTP: shown once, each signs in once, audited and mailed, regenerated."""

import pytest

from tests.accounts.mfa import (
    is_verify_page,
    log_in,
    recovery_codes_of,
    sign_out,
    submit_form,
    totp_enrolled,
)
from tests.oidc.flows import age_authentication, session_store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def codes(browser, user, monkeypatch):
    _secret, codes = totp_enrolled(browser, monkeypatch)
    return codes


def use(browser, code):
    return submit_form(browser, log_in(browser), "recovery-form", {"recovery-code": code})


def methods(browser):
    from accounts import authn

    return session_store(browser).get(authn.METHODS_KEY)


def test_a_recovery_code_signs_in_once(browser, codes, mailoutbox):
    mailoutbox.clear()
    done = use(browser, codes[3])
    assert done.url.endswith("/accounts/profile/")
    assert methods(browser) == ["pwd", "otp", "mfa"]
    sign_out(browser)
    again = use(browser, codes[3])
    assert is_verify_page(again) and "not correct" in again.text and methods(browser) is None
    # Typed loosely (capitals, spaces for dashes) another one still works.
    sign_out(browser)
    assert use(browser, codes[4].upper().replace("-", " ")).url.endswith("/accounts/profile/")
    assert len([m for m in mailoutbox if "recovery code was used" in m.subject]) == 2
    assert all(code not in m.body for m in mailoutbox for code in codes)


def test_using_one_is_audited_with_what_is_left(browser, codes):
    from provider.audit.models import AuditEvent

    use(browser, codes[0])
    row = AuditEvent.objects.get(event="mfa.recovery_code_used")
    assert row.data == {"remaining": 9}


def test_the_codes_are_stored_hashed(codes):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_recoverycode")
        rows = " ".join(str(value) for row in cursor.fetchall() for value in row)
    for code in codes:
        assert code not in rows and code.replace("-", "") not in rows


def test_new_codes_need_a_recent_sign_in_and_void_the_old_ones(browser, codes, user):
    from accounts import recovery_codes

    use(browser, codes[0])
    age_authentication(browser, 600)
    security = browser.get("/accounts/security/")
    assert "9 recovery codes left" in security.text
    page = browser.submit(
        security, form_index=security.text.count("<form", 0, security.text.index("recovery-codes/")) - 1
    )
    assert 'id="reauth-password-form"' in page.text  # not recent enough: confirm first
    from tests.conftest import PASSWORD

    back = submit_form(browser, page, "reauth-password-form", {"password": PASSWORD})
    assert "/accounts/security/" in back.url
    fresh = browser.submit(
        back, form_index=back.text.count("<form", 0, back.text.index("recovery-codes/")) - 1
    )
    new_codes = recovery_codes_of(fresh)
    assert (
        fresh.headers["Cache-Control"].startswith("no-store") or "no-store" in fresh.headers["Cache-Control"]
    )
    assert not set(new_codes) & set(codes)
    assert not recovery_codes.recovery_code_use(user=user, code=codes[1])
    assert recovery_codes.recovery_code_use(user=user, code=new_codes[1])


@pytest.mark.postgres
def test_two_concurrent_uses_of_one_code_pass_once(user):
    """The code is spent by a conditional UPDATE (run on PostgreSQL for real concurrency)."""
    import threading

    from django.db import connection

    from accounts import recovery_codes

    code = recovery_codes.recovery_codes_generate(user=user)[0]
    results, barrier = [], threading.Barrier(2)

    def spend():
        try:
            barrier.wait()
            results.append(recovery_codes.recovery_code_use(user=user, code=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
