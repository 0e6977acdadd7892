"""Step-up over real HTTP: acr_values and an essential acr raise a password-only session's level."""

import pytest

from tests.accounts.mfa import (
    NOW,
    code_at,
    confirm_totp_directly,
    is_verify_page,
    log_in,
    pin_clock,
    submit_form,
)
from tests.oidc.flows import claims_param
from tests.oidc.test_mfa_policy import finish

pytestmark = pytest.mark.django_db(transaction=True)

ESSENTIAL_2 = claims_param({"id_token": {"acr": {"essential": True, "values": ["2"]}}})


@pytest.fixture
def password_session(flow, user, monkeypatch):
    """alice signed in with her password alone, then given an authenticator (as from another device)."""
    pin_clock(monkeypatch)
    log_in(flow.browser)
    secret = confirm_totp_directly(user)
    pin_clock(monkeypatch, NOW + 30)
    return secret


def test_acr_values_2_steps_a_password_session_up(flow, password_session):
    page = flow.authorize(acr_values="2")
    assert is_verify_page(page) and "One more step" not in page.text  # a step-up, not a sign-in
    page = submit_form(flow.browser, page, "totp-form", {"code": code_at(password_session, NOW + 30)})
    claims = finish(flow, page, amr=["pwd", "otp", "mfa"])
    assert claims["acr"] == "2"
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])


def test_a_wrong_step_up_code_gets_no_code(flow, password_session):
    page = submit_form(flow.browser, flow.authorize(acr_values="2"), "totp-form", {"code": "000000"})
    assert is_verify_page(page) and "not correct" in page.text


def test_a_session_already_at_the_level_is_not_asked_again(flow, password_session):
    page = flow.authorize(acr_values="2")
    page = submit_form(flow.browser, page, "totp-form", {"code": code_at(password_session, NOW + 30)})
    finish(flow, page)
    assert (
        flow.id_token_claims(flow.exchange(flow.sign_in(acr_values="2")["code"]).json()["id_token"])["acr"]
        == "2"
    )


def test_voluntary_acr_values_under_prompt_none_go_on_at_the_sessions_level(flow, password_session):
    flow.sign_in()  # consent remembered, so prompt=none can answer
    params = flow.at_relying_party(flow.authorize(acr_values="2", prompt="none"))
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == "1"


def test_voluntary_acr_values_a_user_cannot_reach_are_answered_with_the_level_reached(flow, user):
    claims = finish(flow, flow.log_in(flow.authorize(acr_values="2")))
    assert claims["acr"] == "1"


def test_an_essential_acr_steps_up(flow, password_session):
    page = flow.authorize(claims=ESSENTIAL_2)
    assert is_verify_page(page)
    page = submit_form(flow.browser, page, "totp-form", {"code": code_at(password_session, NOW + 30)})
    assert finish(flow, page)["acr"] == "2"


def test_an_essential_acr_under_prompt_none_is_interaction_required(flow, password_session):
    params = flow.at_relying_party(flow.authorize(claims=ESSENTIAL_2, prompt="none"))
    assert params["error"] == "interaction_required"


def test_an_essential_acr_the_user_cannot_reach_is_unmet(flow, user):
    params = flow.at_relying_party(flow.log_in(flow.authorize(claims=ESSENTIAL_2)))
    assert params["error"] == "unmet_authentication_requirements"
    assert params["state"] == flow.last_params["state"]


def test_an_essential_phr_without_a_passkey_is_unmet(flow, password_session):
    essential_phr = claims_param({"id_token": {"acr": {"essential": True, "values": ["phr"]}}})
    params = flow.at_relying_party(flow.authorize(claims=essential_phr))
    assert params["error"] == "unmet_authentication_requirements"
