"""The MFA policy at /authorize over real HTTP: a client's require_mfa, SIGNET_MFA=required, prompt=none."""

import pytest

from tests.accounts.mfa import (
    NOW,
    code_at,
    confirm_totp_directly,
    continue_link,
    is_verify_page,
    log_in,
    pin_clock,
    recovery_codes_of,
    secret_of,
    submit_form,
)
from tests.oidc.flows import is_consent_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mfa_flow(flow, monkeypatch):
    flow.client.require_mfa = True
    flow.client.save()
    pin_clock(monkeypatch)
    return flow


def finish(flow, page, amr=None):
    """Consent if asked, check the amr the code recorded, exchange the code: the ID token's claims."""
    from provider.oidc.models import AuthorizationCode

    if is_consent_page(page):
        page = flow.allow(page)
    params = flow.at_relying_party(page)
    assert "code" in params, params
    if amr is not None:  # what the token endpoint carries into the ID token
        assert AuthorizationCode.objects.get(application=flow.client).amr == amr
    return flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])


def enrol_during_sign_in(flow):
    page = flow.log_in(flow.authorize())
    assert 'id="totp-enrol-form"' in page.text, page.text[:2000]
    assert "asks for a second step" in page.text
    done = submit_form(flow.browser, page, "totp-enrol-form", {"code": code_at(secret_of(page))})
    recovery_codes_of(done)
    return flow.browser.get(continue_link(done))


def test_a_password_only_user_is_enrolled_and_reaches_the_client_at_acr_2(mfa_flow, user):
    claims = finish(mfa_flow, enrol_during_sign_in(mfa_flow), amr=["pwd", "otp", "mfa"])
    assert claims["acr"] == "2"
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_a_user_with_totp_gives_a_code_after_the_password(mfa_flow, user, monkeypatch):
    secret = confirm_totp_directly(user)
    pin_clock(monkeypatch, NOW + 30)
    page = mfa_flow.log_in(mfa_flow.authorize())
    assert is_verify_page(page)
    page = submit_form(mfa_flow.browser, page, "totp-form", {"code": code_at(secret, NOW + 30)})
    claims = finish(mfa_flow, page, amr=["pwd", "otp", "mfa"])
    assert claims["acr"] == "2" and {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_a_password_only_session_is_interaction_required_under_prompt_none(mfa_flow, user):
    log_in(mfa_flow.browser)
    params = mfa_flow.at_relying_party(mfa_flow.authorize(prompt="none"))
    assert params["error"] == "interaction_required"
    assert params["state"] == mfa_flow.last_params["state"]


def test_a_client_without_the_policy_still_signs_in_with_a_password(flow, user):
    claims = finish(flow, flow.log_in(flow.authorize()), amr=["pwd"])
    assert "acr" not in claims  # not asked for, no policy: as before
    assert claims["amr"] == ["pwd"]


def test_a_consent_posted_without_the_second_step_gets_no_code(flow, user):
    """The consent page of a client that then starts requiring MFA: its Allow must not issue a code."""
    page = flow.log_in(flow.authorize())
    assert is_consent_page(page)
    flow.client.require_mfa = True
    flow.client.save()
    from provider.oidc import client_cache

    client_cache.clear()
    params = flow.at_relying_party(flow.allow(page))
    assert "code" not in params and params["error"] == "access_denied"


def test_signet_mfa_required_enrols_everyone(flow, user, settings, monkeypatch):
    settings.SIGNET_MFA = "required"
    pin_clock(monkeypatch)
    claims = finish(flow, enrol_during_sign_in(flow), amr=["pwd", "otp", "mfa"])
    assert claims["acr"] == "2"  # returned: a policy applied
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_signet_mfa_required_enrols_at_the_login_page_too(browser, user, settings, monkeypatch):
    settings.SIGNET_MFA = "required"
    pin_clock(monkeypatch)
    page = log_in(browser)
    assert 'id="totp-enrol-form"' in page.text


def test_a_passkey_added_during_enrolment_is_used_for_the_step(mfa_flow, user):
    """The setup page's passkeys section registered one: the page then asks to use it, not for TOTP."""
    from accounts.models import Passkey

    page = mfa_flow.log_in(mfa_flow.authorize())
    assert 'id="totp-enrol-form"' in page.text
    Passkey.objects.create(user=user, name="Laptop", credential_id="AAAA", public_key=b"\x01")
    again = mfa_flow.browser.get(page.url)
    assert "/accounts/login/verify/" in again.url and 'id="passkey-second-factor"' in again.text
    assert 'id="totp-form"' not in again.text  # no TOTP to ask for
