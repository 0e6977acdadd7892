"""The sample API, a separate process, accepts the live provider's access tokens and nothing else.

Every rejection answers as RFC 6750 says: 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
"""

import base64
import secrets
import time

import pytest

from tests.sample_api.conftest import AUDIENCE, start_sample_api, stop_sample_api
from tests.sample_api.tokens import (
    access_claims,
    api_client,
    client_credentials_token,
    code_flow_tokens,
    hs256_with_public_key,
    own_signed,
    provider_jwks,
    provider_signed,
    rsa_key,
    unsigned,
)

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://rp.example.com/callback"


@pytest.fixture(scope="module")
def shared_api(live_server, tmp_path_factory):
    """One sample API process for this module's cases.

    The database (and so the provider's keys) is new in every test; a cooldown of 0 lets this
    process refetch the key set for each new test's kid. The cooldown itself is tested elsewhere.
    """
    api = start_sample_api(
        tmp_path_factory.mktemp("sample-api"),
        {"RESOURCE_ISSUER": live_server.url, "RESOURCE_JWKS_COOLDOWN": "0"},
    )
    yield api
    stop_sample_api(api)


def assert_invalid_token(response):
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="sample-api", error="invalid_token"'), challenge
    assert response.json()["error"] == "invalid_token"


def test_a_client_credentials_token_from_the_provider_is_accepted(issuer, shared_api):
    client, secret = api_client(AUDIENCE)
    token = client_credentials_token(issuer, client, secret)

    response = shared_api.get("/hello/", token)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Hello, World!",
        "sub": client.client_id,
        "client_id": client.client_id,
    }


def test_a_user_token_with_the_read_scope_reaches_me(issuer, shared_api, browser, user):
    from provider.oidc.services import client_create

    client, secret = client_create(
        name="RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        audiences=[AUDIENCE],
    )
    body = code_flow_tokens(browser, issuer, user, client, secret, REDIRECT_URI, scope="openid profile")

    response = shared_api.get("/me/", body["access_token"])

    assert response.status_code == 200, response.text
    claims = response.json()
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == AUDIENCE and claims["iss"] == issuer
    assert claims["scope"].split() == ["openid", "profile"]


def test_missing_read_scope_is_403_insufficient_scope(issuer, shared_api):
    client, secret = api_client(AUDIENCE)
    token = client_credentials_token(issuer, client, secret)  # no scope at all

    response = shared_api.get("/me/", token)

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer realm="sample-api", error="insufficient_scope"'
    )
    assert 'scope="profile"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "insufficient_scope"


def test_the_write_endpoint_needs_its_own_scope(issuer, shared_api, settings):
    # The provider issues an API scope once an operator adds it to its scope list.
    settings.SIGNET_SCOPES = {**settings.SIGNET_SCOPES, "notes:write": "Post notes"}
    client, secret = api_client(AUDIENCE, scopes=["notes:write"])
    writer = client_credentials_token(issuer, client, secret, scope="notes:write")
    reader = client_credentials_token(issuer, client, secret)

    created = shared_api.post("/notes/", writer, json={"text": "hello"})
    refused = shared_api.post("/notes/", reader, json={"text": "hello"})
    invalid = shared_api.post("/notes/", writer, json={"text": ""})

    assert created.status_code == 201, created.text
    assert created.json() == {"text": "hello", "author": client.client_id, "client_id": client.client_id}
    assert refused.status_code == 403
    assert 'error="insufficient_scope", ' in refused.headers["WWW-Authenticate"]
    assert 'scope="notes:write"' in refused.headers["WWW-Authenticate"]
    assert invalid.status_code == 400 and "text" in invalid.json()


def test_no_token_is_401_with_a_bare_challenge(issuer, shared_api):
    response = shared_api.get("/hello/")

    assert response.status_code == 401
    # RFC 6750 3: no error code when the request carried no credentials.
    # RFC 9728 5.1: and where this API's protected-resource metadata is.
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="sample-api", resource_metadata="{AUDIENCE}/.well-known/oauth-protected-resource"'
    )


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer a b"],
    ids=["no-token", "empty-token", "two-tokens"],
)
def test_malformed_bearer_credentials_are_400_invalid_request(issuer, shared_api, authorization):
    response = shared_api.get("/hello/", headers={"Authorization": authorization})

    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_a_token_in_the_url_is_refused(issuer, shared_api):
    client, secret = api_client(AUDIENCE)
    token = client_credentials_token(issuer, client, secret)

    response = shared_api.get("/hello/", params={"access_token": token})

    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_rejected(issuer, shared_api):
    now = int(time.time())
    # Expired beyond the 30-second leeway, signed with the provider's real key.
    token = provider_signed(access_claims(issuer, AUDIENCE, iat=now - 700, exp=now - 100))

    response = shared_api.get("/hello/", token)

    assert_invalid_token(response)
    assert "expired" in response.headers["WWW-Authenticate"]


def test_a_token_for_another_audience_is_rejected(issuer, shared_api):
    client, secret = api_client("https://another-api.example")
    token = client_credentials_token(issuer, client, secret)

    response = shared_api.get("/hello/", token)

    assert_invalid_token(response)
    assert "audience" in response.headers["WWW-Authenticate"]


def test_a_token_from_another_issuer_is_rejected(issuer, shared_api):
    token = provider_signed(access_claims("https://other-issuer.example", AUDIENCE))

    response = shared_api.get("/hello/", token)

    assert_invalid_token(response)
    assert "issuer" in response.headers["WWW-Authenticate"]


def test_an_id_token_is_rejected_even_when_its_audience_is_this_api(issuer, shared_api, browser, user):
    # A client whose id is the API's audience: its ID token has the right iss, aud, signature and
    # times. Only the typ header tells it from an access token (RFC 9068 4).
    from provider.oidc.services import client_create

    client, secret = client_create(
        name="Confusing RP",
        client_type="confidential",
        grant="authorization-code",
        client_id=AUDIENCE,
        redirect_uris=[REDIRECT_URI],
        audiences=[AUDIENCE],
    )
    body = code_flow_tokens(browser, issuer, user, client, secret, REDIRECT_URI)
    assert shared_api.get("/hello/", body["access_token"]).status_code == 200  # the same login's access token

    response = shared_api.get("/hello/", body["id_token"])

    assert_invalid_token(response)
    assert "typ" in response.headers["WWW-Authenticate"]


def test_an_unsigned_token_is_rejected(issuer, shared_api):
    kid = provider_jwks(issuer)["keys"][0]["kid"]

    response = shared_api.get("/hello/", unsigned(access_claims(issuer, AUDIENCE), kid))

    assert_invalid_token(response)
    assert "algorithm" in response.headers["WWW-Authenticate"]


def test_an_hs256_token_keyed_with_the_public_key_is_rejected(issuer, shared_api):
    jwk = provider_jwks(issuer)["keys"][0]

    response = shared_api.get(
        "/hello/", hs256_with_public_key(access_claims(issuer, AUDIENCE), jwk["kid"], jwk)
    )

    assert_invalid_token(response)
    assert "algorithm" in response.headers["WWW-Authenticate"]


def test_a_token_from_an_unknown_key_is_rejected(issuer, shared_api):
    token = own_signed(access_claims(issuer, AUDIENCE), rsa_key(), kid=secrets.token_urlsafe(32))

    response = shared_api.get("/hello/", token)

    assert_invalid_token(response)
    assert "unknown key" in response.headers["WWW-Authenticate"]


def test_a_forged_signature_under_a_published_kid_is_rejected(issuer, shared_api):
    kid = provider_jwks(issuer)["keys"][0]["kid"]
    token = own_signed(access_claims(issuer, AUDIENCE), rsa_key(), kid=kid)

    response = shared_api.get("/hello/", token)

    assert_invalid_token(response)
    assert "signature" in response.headers["WWW-Authenticate"]


def test_a_provider_signed_token_without_the_access_token_type_is_rejected(issuer, shared_api):
    response = shared_api.get("/hello/", provider_signed(access_claims(issuer, AUDIENCE), typ="JWT"))

    assert_invalid_token(response)


def test_garbage_is_rejected_without_a_server_error(issuer, shared_api):
    for garbage in ["abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "a." * 3000, "..", "é.é.é"]:
        response = shared_api.get("/hello/", headers={"Authorization": f"Bearer {garbage}".encode()})
        assert response.status_code in (400, 401), (garbage[:20], response.status_code)


def test_deeply_nested_json_is_an_invalid_token_not_a_server_error(issuer, shared_api):
    # Past Python's recursion limit (about 1,000 levels), within gunicorn's 8 KB header field.
    for nested in [b"[" * 2500 + b"]" * 2500, b'{"":' * 1100 + b"1" + b"}" * 1100]:
        header = base64.urlsafe_b64encode(nested).rstrip(b"=").decode()

        response = shared_api.get("/hello/", f"{header}.e30.c2ln")

        assert_invalid_token(response)
