"""OIDC Core 3.1.2.1 `max_age`: an older authentication than allowed means logging in again.

The session's age is changed in the session store instead of sleeping (the clock is injected).
"""

import pytest

from tests.oidc.flows import age_authentication, is_login_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_recent_enough_session_is_reused_with_its_auth_time(flow, user):
    first = flow.id_token_claims(flow.tokens()["id_token"])
    params = flow.at_relying_party(flow.authorize(max_age="10000"))
    second = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert second["auth_time"] == first["auth_time"]
    assert second["sub"] == first["sub"]


def test_an_older_session_logs_in_again_and_gets_a_fresh_auth_time(flow, user):
    flow.tokens()
    aged = age_authentication(flow.browser, 100)
    page = flow.authorize(max_age="50")
    assert is_login_page(page)
    params = flow.at_relying_party(flow.log_in(page))
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert claims["auth_time"] > aged + 50


def test_the_boundary_is_greater_than_max_age(flow, user):
    flow.tokens()
    age_authentication(flow.browser, 100)
    assert "code" in flow.at_relying_party(flow.authorize(max_age="200"))


def test_max_age_zero_always_logs_in_and_does_not_loop(flow, user):
    flow.tokens()
    page = flow.authorize(max_age="0")
    assert is_login_page(page)
    params = flow.at_relying_party(flow.log_in(page))
    assert "code" in params
    assert "auth_time" in flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])


def test_prompt_none_with_a_too_old_session_is_login_required(flow, user):
    flow.tokens()
    age_authentication(flow.browser, 100)
    params = flow.at_relying_party(flow.authorize(prompt="none", max_age="50"))
    assert params["error"] == "login_required"
    assert params["state"] == flow.last_params["state"]


def test_prompt_none_with_max_age_zero_is_login_required(flow, user):
    flow.tokens()
    assert flow.at_relying_party(flow.authorize(prompt="none", max_age="0"))["error"] == "login_required"


@pytest.mark.parametrize("value", ["-1", "ten", "1.5", "9" * 20])
def test_a_malformed_max_age_is_invalid_request(flow, value):
    params = flow.at_relying_party(flow.authorize(max_age=value))
    assert params["error"] == "invalid_request"
    assert "max_age" in params["error_description"]
