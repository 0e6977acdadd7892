"""OIDC Discovery 1.0 / RFC 8414: the document advertises exactly what works, each field proven here."""

import pytest
import requests

from tests.conftest import PASSWORD
from tests.oidc.flows import fragment

pytestmark = pytest.mark.django_db(transaction=True)

CHECKED_FIELDS = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "device_authorization_endpoint",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    # proven in tests/oidc/test_private_key_jwt.py, like private_key_jwt in the three lists below
    "token_endpoint_auth_signing_alg_values_supported",
    "revocation_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "prompt_values_supported",
    "acr_values_supported",
    "claim_types_supported",
    "claims_supported",
    "claims_parameter_supported",
    "ui_locales_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "authorization_response_iss_parameter_supported",
    "frontchannel_logout_supported",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
}


@pytest.fixture
def metadata(issuer):
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json()


def test_every_advertised_field_is_one_this_file_proves(metadata):
    # A new field needs a test here before it may be advertised.
    assert set(metadata) == CHECKED_FIELDS


def test_rfc8414_metadata_is_the_same_document(issuer, metadata):
    assert requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json() == metadata


def test_every_endpoint_derives_from_the_issuer_and_answers(issuer, metadata):
    assert metadata["issuer"] == issuer
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "device_authorization_endpoint",
    ):
        assert metadata[name].startswith(issuer + "/"), name
        method = (
            requests.get
            if name in ("jwks_uri", "end_session_endpoint", "authorization_endpoint")
            else requests.post
        )
        response = method(metadata[name], timeout=10, allow_redirects=False)
        assert response.status_code not in (404, 405, 500), (name, response.status_code)
    assert requests.get(metadata["jwks_uri"], timeout=10).json()["keys"]


def test_scopes_and_the_claims_they_release(flow, user, metadata):
    assert metadata["scopes_supported"] == ["openid", "profile", "email", "offline_access", "groups"]
    assert metadata["claim_types_supported"] == ["normal"]
    flow.client.allowed_scopes = " ".join(metadata["scopes_supported"])  # groups is not a default
    flow.client.save(update_fields=["allowed_scopes"])
    tokens = flow.tokens(scope=" ".join(metadata["scopes_supported"]), acr_values="1")
    assert tokens["refresh_token"]  # offline_access
    released = set(flow.id_token_claims(tokens["id_token"])) | set(
        flow.userinfo(tokens["access_token"]).json()
    )
    assert set(metadata["claims_supported"]) <= released, set(metadata["claims_supported"]) - released
    # A password alone reaches "1"; "2" and "phr" are what a second factor and a passkey reach (test_step_up).
    assert metadata["acr_values_supported"] == ["1", "2", "phr"]
    assert flow.id_token_claims(tokens["id_token"])["acr"] == "1"


def test_response_types_and_modes(flow, user, metadata):
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query", "fragment"]
    assert "code" in flow.sign_in()  # query
    location = flow.authorize(response_mode="fragment").headers["Location"]
    assert "code" in fragment(location) and fragment(location)["iss"] == flow.issuer
    for unsupported in ("token", "id_token", "code id_token"):
        assert "error" in flow.at_relying_party(flow.authorize(response_type=unsupported))


def test_signing_subjects_and_pkce(flow, user, metadata):
    import jwt

    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["subject_types_supported"] == ["public"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    tokens = flow.tokens()
    assert jwt.get_unverified_header(tokens["id_token"])["alg"] == "RS256"
    assert flow.at_relying_party(flow.authorize(code_challenge_method="plain"))["error"] == "invalid_request"


def test_grant_types(flow, user, metadata, issuer):
    from provider.oidc.services import client_create

    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    tokens = flow.tokens(scope="openid offline_access")
    assert flow.refresh(tokens["refresh_token"]).status_code == 200
    service, secret = client_create(
        name="Batch job",
        client_type="confidential",
        grant="client-credentials",
        audiences=["https://api.example.com"],
    )
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(service.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    legacy, legacy_secret = client_create(
        name="First-party app",
        client_type="confidential",
        grant="password",
        audiences=["https://api.example.com"],
    )
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD, "scope": "openid"},
        auth=(legacy.client_id, legacy_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    # RFC 8628: the device grant, approved on /device (tests/oidc/test_device_grant.py walks the pages).
    from provider.oidc import device
    from provider.oidc.models import DeviceAuthorization

    tv, _ = client_create(name="TV", client_type="public", grant="device-code")
    started = requests.post(
        metadata["device_authorization_endpoint"], data={"client_id": tv.client_id}, timeout=10
    ).json()
    device.device_authorization_decide(row=DeviceAuthorization.objects.get(), user=user, approve=True)
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": started["device_code"],
            "client_id": tv.client_id,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_token_endpoint_auth_methods(flow, public_flow, user, metadata):
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    basic = flow.exchange(flow.sign_in()["code"])
    assert basic.status_code == 200, basic.text
    post = requests.post(
        f"{flow.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": flow.sign_in()["code"],
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": flow.client.client_id,
            "client_secret": flow.secret,
        },
        timeout=10,
    )
    assert post.status_code == 200, post.text
    public_flow.browser = flow.browser
    none = public_flow.exchange(public_flow.sign_in()["code"])
    assert none.status_code == 200, none.text


def test_revocation_auth_methods(flow, public_flow, user, metadata):
    assert metadata["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    url = metadata["revocation_endpoint"]
    for send in ("basic", "post"):
        token = flow.tokens()["access_token"]
        if send == "basic":
            response = requests.post(
                url, data={"token": token}, auth=(flow.client.client_id, flow.secret), timeout=10
            )
        else:
            data = {"token": token, "client_id": flow.client.client_id, "client_secret": flow.secret}
            response = requests.post(url, data=data, timeout=10)
        assert response.status_code == 200, (send, response.text)
        assert flow.userinfo(token).status_code == 401, send
    public_flow.browser = flow.browser
    token = public_flow.tokens()["access_token"]
    response = requests.post(
        url, data={"token": token, "client_id": public_flow.client.client_id}, timeout=10
    )
    assert response.status_code == 200 and flow.userinfo(token).status_code == 401


def test_introspection_auth_methods(flow, user, metadata):
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
    url = metadata["introspection_endpoint"]
    token = flow.tokens()["access_token"]
    basic = requests.post(url, data={"token": token}, auth=(flow.client.client_id, flow.secret), timeout=10)
    data = {"token": token, "client_id": flow.client.client_id, "client_secret": flow.secret}
    post = requests.post(url, data=data, timeout=10)
    for response in (basic, post):
        assert response.status_code == 200, response.text
        assert response.json()["active"] is True


def test_prompt_values_and_request_parameters(flow, user, metadata):
    assert metadata["prompt_values_supported"] == [
        "none",
        "login",
        "consent",
        "select_account",
    ]  # test_prompt.py
    assert metadata["claims_parameter_supported"] is True  # test_claims.py
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False
    assert flow.at_relying_party(flow.authorize(request="e30.e30."))["error"] == "request_not_supported"
    assert flow.at_relying_party(flow.authorize(request_uri="https://rp.example.com/r"))["error"] == (
        "request_uri_not_supported"
    )


def test_ui_locales_supported_are_the_shipped_languages(flow, metadata):
    from pathlib import Path

    locale = Path(__file__).resolve().parents[2] / "locale"
    assert metadata["ui_locales_supported"] == ["en", "de", "fr", "es"]
    assert sorted(metadata["ui_locales_supported"]) == sorted(
        p.parent.parent.name for p in locale.glob("*/*/django.mo")
    )
    for language in metadata["ui_locales_supported"]:
        login = flow.authorize(ui_locales=language)
        assert f'<html lang="{language}">' in login.text and login.headers["Content-Language"] == language


def test_iss_in_authorization_responses(flow, user, metadata):
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert flow.sign_in()["iss"] == flow.issuer
    assert flow.at_relying_party(flow.authorize(scope="openid nope"))["iss"] == flow.issuer


def test_logout_support(flow, user, metadata):
    from tests.conftest import POST_LOGOUT_URI

    assert metadata["frontchannel_logout_supported"] is False
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    id_token = flow.tokens()["id_token"]
    response = requests.get(
        metadata["end_session_endpoint"],
        params={"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_URI},
        cookies=flow.browser.http.cookies,
        allow_redirects=False,
        timeout=10,
    )
    assert response.headers["Location"] == POST_LOGOUT_URI
