"""Error codes at the token endpoint follow RFC 6749 5.2 exactly; each test cites the deciding clause.

(The authorization endpoint's codes, RFC 6749 4.1.2.1, are in tests/oidc/test_authorize_errors.py.)
"""

import pytest

from tests.conftest import REDIRECT_URI
from tests.tokens.conftest import exchange, mint_code, token

pytestmark = pytest.mark.django_db(transaction=True)


def assert_error(response, error):
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error, response.text
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "redirect_uri",
    [REDIRECT_URI + "/other", REDIRECT_URI.upper(), REDIRECT_URI + "?x=1", "https://evil.example/callback"],
)
def test_a_redirect_uri_that_does_not_match_the_authorization_request_is_invalid_grant(
    issuer, rp_client, user, redirect_uri
):
    # RFC 6749 5.2, invalid_grant: the grant "does not match the redirection URI used in the
    # authorization request" (not invalid_request, which is for a malformed request).
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    assert_error(exchange(issuer, client, secret, code, verifier, redirect_uri=redirect_uri), "invalid_grant")


def test_a_missing_redirect_uri_is_invalid_request(issuer, rp_client, user):
    # RFC 6749 4.1.3: redirect_uri is REQUIRED when the authorization request included it, and
    # 5.2 invalid_request: "missing a required parameter".
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    assert_error(token(issuer, data, auth=(client.client_id, secret)), "invalid_request")


def test_an_unknown_grant_type_is_unsupported_grant_type(issuer, rp_client):
    # RFC 6749 5.2, unsupported_grant_type: "not supported by the authorization server".
    client, secret = rp_client
    response = token(issuer, {"grant_type": "implicit"}, auth=(client.client_id, secret))
    assert_error(response, "unsupported_grant_type")


def test_a_grant_type_the_client_may_not_use_is_unauthorized_client(issuer, rp_client):
    # RFC 6749 5.2, unauthorized_client: "not authorized to use this authorization grant type"
    # (the server supports client_credentials, this authorization-code client may not use it).
    client, secret = rp_client
    response = token(issuer, {"grant_type": "client_credentials"}, auth=(client.client_id, secret))
    assert_error(response, "unauthorized_client")
