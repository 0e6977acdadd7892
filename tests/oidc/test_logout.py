"""RP-Initiated Logout 1.0, including the OIDF RP-Initiated Logout OP plan's negative cases."""

import base64
import json
import time

import pytest

from tests.conftest import POST_LOGOUT_URI
from tests.oidc.flows import is_login_page, query
from tests.support.browser import forms

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(flow, user):
    """A browser signed in at the RP: the ID token it holds."""
    return flow.tokens()["id_token"]


def logout(flow, **params):
    return flow.browser.get("/logout", params={k: v for k, v in params.items() if v is not None})


def assert_signed_out(flow):
    params = flow.at_relying_party(flow.authorize(prompt="none"))
    assert params["error"] == "login_required"


def assert_still_signed_in(flow):
    assert "code" in flow.at_relying_party(flow.authorize(prompt="none"))


def assert_no_redirect(response):
    assert response.status_code in (200, 400), response.status_code
    assert "Location" not in response.headers


def is_confirm_page(response):
    return response.status_code == 200 and any("allow" in f["buttons"] for f in forms(response.text))


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_a_verified_hint_and_registered_uri_log_out_and_return_with_state(flow, signed_in):
    response = logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=POST_LOGOUT_URI, state="s-42")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(POST_LOGOUT_URI + "?")
    assert query(response.headers["Location"]) == {"state": "s-42"}
    assert_signed_out(flow)


def test_without_state_the_uri_is_returned_to_as_registered(flow, signed_in):
    response = logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert response.headers["Location"] == POST_LOGOUT_URI


def test_client_id_may_accompany_the_hint(flow, signed_in):
    response = logout(
        flow,
        id_token_hint=signed_in,
        client_id=flow.client.client_id,
        post_logout_redirect_uri=POST_LOGOUT_URI,
    )
    assert response.headers["Location"] == POST_LOGOUT_URI


def test_a_hint_signed_by_a_retired_key_still_works(flow, signed_in):
    from keys.selectors import reset_cache
    from keys.services import key_rotate

    key_rotate()
    reset_cache()
    response = logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=POST_LOGOUT_URI, state="x")
    assert response.headers["Location"] == POST_LOGOUT_URI + "?state=x"
    assert_signed_out(flow)


def test_an_expired_hint_is_accepted(flow, signed_in, user):
    from keys import jwt

    claims = jwt.verify(signed_in)
    expired = jwt.sign({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600})
    response = logout(flow, id_token_hint=expired, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert response.headers["Location"] == POST_LOGOUT_URI


def test_the_logout_request_may_be_posted(flow, signed_in):
    data = {"id_token_hint": signed_in, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "p"}
    response = flow.browser.post("/logout", data=data)
    assert response.headers["Location"] == POST_LOGOUT_URI + "?state=p"
    assert_signed_out(flow)


# --- no hint: ask first ----------------------------------------------------------------------------
def test_without_a_hint_the_user_is_asked_and_then_returned(flow, signed_in):
    page = logout(flow, client_id=flow.client.client_id, post_logout_redirect_uri=POST_LOGOUT_URI, state="c")
    assert is_confirm_page(page)
    assert "Example RP" in page.text
    assert_still_signed_in(flow)
    response = flow.browser.submit(page, button="allow")
    assert response.headers["Location"] == POST_LOGOUT_URI + "?state=c"
    assert_signed_out(flow)


def test_no_parameters_asks_then_shows_the_signed_out_page(flow, signed_in):
    page = logout(flow)
    assert is_confirm_page(page)
    done = flow.browser.submit(page, button="allow")
    assert_no_redirect(done)
    assert "signed out" in done.text
    assert_signed_out(flow)


def test_only_state_asks_and_redirects_nowhere(flow, signed_in):
    page = logout(flow, state="only")
    assert is_confirm_page(page)
    assert_no_redirect(flow.browser.submit(page, button="allow"))


def test_staying_signed_in_keeps_the_session(flow, signed_in):
    page = logout(flow, client_id=flow.client.client_id, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert_no_redirect(flow.browser.submit(page, fields={"allow": ""}))  # the "Stay signed in" button
    assert_still_signed_in(flow)


def test_the_confirmation_is_protected_against_csrf(flow, signed_in):
    page = logout(flow)
    fields = {**forms(page.text)[0]["fields"], "allow": "Logout"}
    fields.pop("csrfmiddlewaretoken")
    response = flow.browser.http.post(page.url, data=fields, allow_redirects=False)
    assert response.status_code == 403
    assert_still_signed_in(flow)


def test_a_hint_for_someone_else_asks_first(flow, signed_in, bob, other_browser):
    bobs_flow = type(flow)(issuer=flow.issuer, browser=other_browser, client=flow.client, secret=flow.secret)
    bobs_hint = bobs_flow.tokens(email="bob@example.com")["id_token"]
    page = logout(flow, id_token_hint=bobs_hint, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert is_confirm_page(page)
    assert_still_signed_in(flow)


def test_a_hint_from_an_earlier_session_asks_first(flow, signed_in):
    flow.browser.http.cookies.clear()
    flow.tokens()  # a new session of the same user
    page = logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert is_confirm_page(page)


def test_logging_out_without_a_session_just_says_so(flow):
    response = logout(flow, state="x")
    assert_no_redirect(response)
    assert response.status_code == 200 and "signed out" in response.text


# --- never redirect anywhere unregistered ------------------------------------------------------------
@pytest.mark.parametrize(
    "uri",
    [
        "https://attacker.example/signed-out",
        POST_LOGOUT_URI + "?extra=1",  # a query string added to the registered URI
        POST_LOGOUT_URI + "/more",
        "https://rp.example.com/callback",  # registered, but as a redirect_uri, not for logout
    ],
)
def test_an_unregistered_post_logout_uri_is_never_redirected_to(flow, signed_in, uri):
    response = logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=uri, state="s")
    assert_no_redirect(response)
    assert response.status_code == 400
    assert_still_signed_in(flow)


def test_an_alg_none_hint_is_refused(flow, signed_in):
    header, payload, _ = signed_in.split(".")
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    response = logout(flow, id_token_hint=unsigned, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert_no_redirect(response)
    assert response.status_code == 400
    assert_still_signed_in(flow)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c"])
def test_a_garbage_hint_is_refused(flow, signed_in, hint):
    response = logout(flow, id_token_hint=hint, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert_no_redirect(response)
    assert response.status_code == 400


def test_a_client_id_that_does_not_match_the_hint_is_refused(flow, signed_in, first_party_flow):
    response = logout(
        flow,
        id_token_hint=signed_in,
        client_id=first_party_flow.client.client_id,
        post_logout_redirect_uri=POST_LOGOUT_URI,
    )
    assert_no_redirect(response)
    assert response.status_code == 400


def test_an_unknown_client_id_is_refused_not_a_server_error(flow, signed_in):
    response = logout(flow, client_id="no-such-client", post_logout_redirect_uri=POST_LOGOUT_URI)
    assert_no_redirect(response)
    assert response.status_code == 400


def test_a_uri_without_a_client_is_refused(flow, signed_in):
    response = logout(flow, post_logout_redirect_uri=POST_LOGOUT_URI, state="s")
    assert_no_redirect(response)
    assert response.status_code == 400


def test_after_logout_the_login_page_is_shown_again(flow, signed_in):
    logout(flow, id_token_hint=signed_in, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert is_login_page(flow.authorize())


def test_a_nul_in_client_id_is_refused_not_a_server_error(flow, signed_in):
    response = logout(flow, client_id="client\x00id", post_logout_redirect_uri=POST_LOGOUT_URI)
    assert_no_redirect(response)
    assert response.status_code == 400


def test_signing_out_revokes_the_sessions_refresh_tokens_but_not_offline_ones(flow, user, other_browser):
    from provider.audit.models import AuditEvent

    session_bound = flow.tokens(scope="openid profile")
    offline = flow.tokens(scope="openid offline_access")
    elsewhere = type(flow)(issuer=flow.issuer, browser=other_browser, client=flow.client, secret=flow.secret)
    other_session = elsewhere.tokens(scope="openid profile")  # the same user, another sign-in

    response = logout(flow, id_token_hint=offline["id_token"], post_logout_redirect_uri=POST_LOGOUT_URI)
    assert response.status_code == 302
    assert flow.refresh(session_bound["refresh_token"]).json()["error"] == "invalid_grant"
    assert flow.userinfo(session_bound["access_token"]).status_code == 401
    assert flow.refresh(offline["refresh_token"]).status_code == 200
    assert elsewhere.refresh(other_session["refresh_token"]).status_code == 200
    ended = AuditEvent.objects.filter(event="token.session_ended")
    assert ended.count() == 1 and ended.get().actor == str(user.pk)


def test_a_code_issued_before_sign_out_is_refused_after_it(flow, user):
    from provider.audit.models import AuditEvent

    params = flow.sign_in(scope="openid profile")  # the relying party has its code, not yet exchanged
    verifier = flow.verifier
    assert_still_signed_in(flow)  # another code of the same sign-in, also pending
    page = logout(flow)
    flow.browser.submit(page, button="allow")

    response = flow.exchange(params["code"], verifier=verifier)
    # RFC 6749 5.2: the grant ended with the sign-in that issued it.
    assert (response.status_code, response.json().get("error")) == (400, "invalid_grant")
    ended = AuditEvent.objects.get(event="authorization_code.revoked")
    assert ended.actor == str(user.pk) and ended.data == {"reason": "session_ended", "codes": 2}
