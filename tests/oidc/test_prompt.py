"""OIDC Core 3.1.2.1 `prompt`: none never shows UI, login always re-authenticates, consent always asks."""

import pytest

from tests.oidc.flows import age_authentication, is_consent_page, is_login_page

pytestmark = pytest.mark.django_db(transaction=True)


def assert_error_redirect(flow, response, error):
    params = flow.at_relying_party(response)
    assert params["error"] == error, params
    assert params["error_description"]
    assert params["state"] == flow.last_params["state"]
    assert params["iss"] == flow.issuer  # RFC 9207
    assert "code" not in params
    return params


def test_prompt_none_without_a_session_is_login_required(flow):
    response = flow.authorize(prompt="none")
    assert_error_redirect(flow, response, "login_required")


def test_prompt_none_with_a_session_but_no_consent_is_consent_required(flow, user, first_party_flow):
    first_party_flow.sign_in()  # a session, but nothing allowed for flow's client
    response = flow.authorize(prompt="none")
    assert_error_redirect(flow, response, "consent_required")


def test_prompt_none_with_session_and_consent_returns_a_code_silently(flow, user):
    first = flow.id_token_claims(flow.tokens()["id_token"])
    response = flow.authorize(prompt="none")
    params = flow.at_relying_party(response)
    assert params["state"] == flow.last_params["state"] and params["iss"] == flow.issuer
    token = flow.exchange(params["code"])
    assert token.status_code == 200, token.text
    second = flow.id_token_claims(token.json()["id_token"])
    assert second["sub"] == first["sub"] == str(user.pk)
    assert second["auth_time"] == first["auth_time"]  # the same authentication, not a new one
    assert second["sid"] == first["sid"]


def test_prompt_none_for_a_first_party_client_needs_only_the_session(first_party_flow, user):
    first_party_flow.sign_in()
    params = first_party_flow.at_relying_party(first_party_flow.authorize(prompt="none"))
    assert "code" in params


def test_prompt_none_combined_with_another_value_is_invalid_request(flow, user):
    flow.tokens()
    response = flow.authorize(prompt="none login")
    assert_error_redirect(flow, response, "invalid_request")


def test_prompt_none_never_redirects_to_an_unregistered_uri(flow):
    response = flow.authorize(prompt="none", redirect_uri="https://attacker.example/callback")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "attacker.example" not in response.text


def test_prompt_none_with_an_unknown_client_shows_an_error_page(flow):
    response = flow.authorize(prompt="none", client_id="no-such-client")
    assert response.status_code == 400 and "Location" not in response.headers


def test_prompt_login_re_authenticates_a_valid_session_with_a_fresh_auth_time(flow, user):
    first = flow.id_token_claims(flow.tokens()["id_token"])
    aged = age_authentication(flow.browser, 120)  # the clock moved on, without sleeping

    page = flow.authorize(prompt="login")
    assert is_login_page(page)  # the session is valid, yet the user is asked to sign in
    params = flow.at_relying_party(flow.log_in(page))  # consent is remembered: straight back
    second = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert second["sub"] == first["sub"]
    assert second["auth_time"] > aged
    assert second["auth_time"] >= first["auth_time"]
    assert second["sid"] != first["sid"]  # a new authentication of this browser


def test_prompt_login_keeps_the_other_prompt_values(flow, user):
    flow.tokens()
    page = flow.authorize(prompt="login consent")
    assert is_login_page(page)
    assert is_consent_page(flow.log_in(page))  # consent is asked even though it is remembered


def test_prompt_select_account_lets_the_user_sign_in_again(flow, user):
    flow.tokens()
    page = flow.authorize(prompt="select_account")
    assert is_login_page(page)
    assert "code" in flow.at_relying_party(flow.log_in(page))


def test_prompt_consent_asks_even_when_consent_is_remembered(flow, user):
    flow.tokens()
    assert "code" in flow.at_relying_party(flow.authorize())  # remembered: no page
    page = flow.authorize(prompt="consent")
    assert is_consent_page(page)
    assert "code" in flow.at_relying_party(flow.allow(page))


def test_prompt_create_is_not_supported(flow):
    response = flow.authorize(prompt="create")
    assert_error_redirect(flow, response, "invalid_request")


def test_prompt_none_for_a_plain_oauth_request_shows_no_ui_either(flow, user):
    # oauthlib applies prompt only to OpenID requests; the view refuses UI for the others too.
    response = flow.authorize(prompt="none", scope="profile")
    assert_error_redirect(flow, response, "login_required")
    flow.tokens()
    response = flow.authorize(prompt="none", scope="email")
    assert_error_redirect(flow, response, "consent_required")
