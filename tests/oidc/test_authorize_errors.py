"""Authorization endpoint errors (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6, RFC 9207) and what it tolerates."""

import pytest

from tests.oidc.flows import fragment, is_consent_page, is_login_page, query

pytestmark = pytest.mark.django_db(transaction=True)


def assert_error_page(response):
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers
    assert "cannot continue" in response.text


def assert_redirected_error(flow, response, error):
    params = flow.at_relying_party(response)
    assert params["error"] == error, params
    assert params["error_description"]
    assert params["iss"] == flow.issuer
    assert params["state"] == flow.last_params["state"]
    return params


# --- never redirect for a bad client or redirect URI ------------------------------------------------
def test_an_unknown_client_gets_an_error_page(flow):
    assert_error_page(flow.authorize(client_id="no-such-client"))


def test_a_missing_client_id_gets_an_error_page(flow):
    assert_error_page(flow.authorize(client_id=None))


def test_a_disabled_client_gets_an_error_page(flow):
    flow.client.is_active = False
    flow.client.save()
    assert_error_page(flow.authorize())


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/callback",
        "https://rp.example.com/callback/extra",  # no extra path
        "https://rp.example.com/callbac",  # no prefix
        "https://rp.example.com/callback?x=1",  # no extra query
        "https://rp.example.com/callback/",
        "http://rp.example.com/callback",
        "https://RP.example.com/callback",
        "https://rp.example.com/callback#frag",
    ],
)
def test_an_unregistered_redirect_uri_gets_an_error_page(flow, redirect_uri):
    response = flow.authorize(redirect_uri=redirect_uri)
    assert_error_page(response)
    assert "attacker" not in response.text


def test_a_missing_redirect_uri_gets_an_error_page(flow):
    # OIDC Core 3.1.2.1: REQUIRED, even when the client registered only one.
    assert_error_page(flow.authorize(redirect_uri=None))


def test_repeating_client_id_or_redirect_uri_gets_an_error_page(flow):
    params = flow.params()
    response = flow.browser.get("/authorize", params=[*params.items(), ("client_id", params["client_id"])])
    assert_error_page(response)


# --- every other error goes back to the client with state and iss ------------------------------------
def test_a_missing_response_type_redirects_with_an_error(flow):
    params = assert_redirected_error(flow, flow.authorize(response_type=None), "invalid_request")
    assert "response_type" in params["error_description"]


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "none", "nonsense"])
def test_unsupported_response_types_are_refused(flow, response_type):
    # RFC 6749 4.1.2.1 decides between the two candidates: unsupported_response_type is "the
    # authorization server does not support obtaining an authorization code using this method";
    # unauthorized_client would say the server offers the type but not to this client. Signet
    # offers only "code" (response_types_supported), so every other type is unsupported.
    params = flow.at_relying_party(flow.authorize(response_type=response_type))
    assert params["error"] == "unsupported_response_type", params
    assert "code" not in params and "id_token" not in params and "access_token" not in params


def test_a_scope_the_client_is_not_allowed_is_invalid_scope(narrow_flow):
    assert_redirected_error(narrow_flow, narrow_flow.authorize(scope="openid email"), "invalid_scope")


def test_an_unknown_scope_is_invalid_scope(flow):
    assert_redirected_error(flow, flow.authorize(scope="openid admin"), "invalid_scope")


def test_a_repeated_parameter_is_invalid_request(flow):
    params = flow.params()
    response = flow.browser.get("/authorize", params=[*params.items(), ("nonce", "again")])
    result = assert_redirected_error(flow, response, "invalid_request")
    assert "nonce" in result["error_description"]


@pytest.mark.parametrize(
    ("parameter", "error"),
    [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ],
)
def test_request_objects_are_refused_as_unsupported(flow, parameter, error):
    assert_redirected_error(flow, flow.authorize(**{parameter: "eyJhbGciOiJub25lIn0.e30."}), error)


def test_denying_consent_is_access_denied(flow, user):
    page = flow.log_in(flow.authorize())
    response = flow.browser.consent(page, allow=False)
    assert_redirected_error(flow, response, "access_denied")


def test_error_redirects_go_into_the_fragment_when_asked(flow):
    response = flow.authorize(response_mode="fragment", scope="openid admin")
    location = response.headers["Location"]
    assert "?" not in location and fragment(location)["error"] == "invalid_scope"


def test_an_unsupported_response_mode_is_invalid_request(flow):
    assert_redirected_error(flow, flow.authorize(response_mode="form_post"), "invalid_request")


# --- what must be accepted -------------------------------------------------------------------------
def test_unknown_and_optional_parameters_are_accepted(flow, user):
    params = flow.sign_in(
        display="popup",
        ui_locales="fr-CA fr en",
        claims_locales="de",
        login_hint="alice@example.com",
        something_new="whatever",
        scope="email openid profile",  # any order
    )
    assert "code" in params
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert "acr" not in claims  # not asked for


@pytest.mark.parametrize("display", ["page", "popup", "touch", "wap"])
def test_every_display_value_is_accepted(flow, display):
    assert is_login_page(flow.authorize(display=display))


def test_acr_values_are_accepted_and_answered_with_acr(flow, user):
    params = flow.sign_in(acr_values="2 1")
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert claims["acr"] == "1"


def test_login_hint_prefills_the_email_field(flow):
    page = flow.authorize(login_hint="someone@example.com")
    assert is_login_page(page)
    assert 'value="someone@example.com"' in page.text


def test_a_code_flow_without_nonce_works(flow, user):
    tokens = flow.tokens(nonce=None)
    claims = flow.id_token_claims(tokens["id_token"], nonce=None)
    assert "nonce" not in claims


def test_the_authorization_request_may_be_posted(flow, user):
    response = flow.browser.post("/authorize", data=flow.params(scope="openid profile"))
    assert is_login_page(response)
    page = flow.log_in(response)
    assert is_consent_page(page)
    params = flow.at_relying_party(flow.allow(page))
    assert params["state"] == flow.last_params["state"]
    token = flow.exchange(params["code"])
    assert token.status_code == 200, token.text
    assert flow.id_token_claims(token.json()["id_token"])["name"] == "Alice Liddell"


def test_a_posted_request_keeps_repeated_parameters_repeated(flow):
    data = [*flow.params().items(), ("nonce", "again")]
    response = flow.browser.post("/authorize", data=data)
    assert flow.at_relying_party(response)["error"] == "invalid_request"


def test_the_consent_form_is_protected_against_csrf(flow, user):
    page = flow.log_in(flow.authorize())
    from tests.support.browser import forms

    form = forms(page.text)[0]
    fields = {**form["fields"], "allow": "Authorize"}
    fields.pop("csrfmiddlewaretoken")
    response = flow.browser.http.post(
        page.url, data=fields, allow_redirects=False, headers={"Referer": page.url}
    )
    assert response.status_code == 403
    assert "code=" not in response.headers.get("Location", "")


def test_the_success_response_carries_state_and_iss(flow, user):
    params = flow.sign_in()
    assert params["state"] == flow.last_params["state"]
    assert params["iss"] == flow.issuer
    assert (
        query(flow.browser.get("/authorize", params=flow.params()).headers["Location"])["iss"] == flow.issuer
    )


@pytest.mark.parametrize("client_id", ["\x00", "client\x00id"])
def test_a_nul_in_client_id_gets_an_error_page_not_a_server_error(flow, client_id):
    # PostgreSQL refuses NUL in a lookup; the suite runs on it in CI.
    assert_error_page(flow.authorize(client_id=client_id))


def test_put_is_not_a_way_in(flow, user):
    flow.tokens()
    response = flow.browser.http.put(f"{flow.issuer}/authorize", data=flow.params(), allow_redirects=False)
    assert response.status_code == 405


def test_fragment_mode_holds_through_the_consent_page(flow, user):
    # The consent form carries response_mode: its Allow and its Deny answer in the mode asked for.
    page = flow.log_in(flow.authorize(response_mode="fragment"))
    location = flow.allow(page).headers["Location"]
    assert "?" not in location and "code" in fragment(location) and fragment(location)["iss"] == flow.issuer
    page = flow.authorize(response_mode="fragment", prompt="consent")
    location = flow.browser.consent(page, allow=False).headers["Location"]
    assert fragment(location)["error"] == "access_denied"
    assert fragment(location)["state"] == flow.last_params["state"]


def test_a_consent_form_without_its_request_gets_an_error_page(flow, user):
    from tests.support.browser import forms

    page = flow.log_in(flow.authorize())
    fields = {**forms(page.text)[0]["fields"], "client_id": "", "allow": "Authorize"}
    response = flow.browser.http.post(
        page.url, data=fields, allow_redirects=False, headers={"Referer": page.url}
    )
    assert_error_page(response)
