"""PKCE (RFC 7636) as RFC 9700 2.1.1 wants it: required for public clients, S256 only, no downgrade."""

import base64
import hashlib

import pytest

from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_public_client_signs_in_with_s256_and_no_secret(public_flow, user):
    params = public_flow.sign_in()
    response = public_flow.exchange(params["code"])
    assert response.status_code == 200, response.text
    assert public_flow.id_token_claims(response.json()["id_token"])["sub"] == str(user.pk)


def test_a_public_client_without_a_challenge_is_refused_before_login(public_flow):
    params = public_flow.at_relying_party(
        public_flow.authorize(code_challenge=None, code_challenge_method=None)
    )
    assert params["error"] == "invalid_request"
    assert params["state"] == public_flow.last_params["state"] and params["iss"] == public_flow.issuer


@pytest.mark.parametrize("method", ["plain", None, "S512"])
def test_only_s256_is_accepted(flow, method):
    verifier, _ = pkce_pair()
    params = flow.at_relying_party(flow.authorize(code_challenge=verifier, code_challenge_method=method))
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]


def test_a_malformed_challenge_is_refused(flow):
    params = flow.at_relying_party(flow.authorize(code_challenge="short"))
    assert params["error"] == "invalid_request"


def test_a_wrong_verifier_is_invalid_grant(public_flow, user):
    params = public_flow.sign_in()
    response = public_flow.exchange(params["code"], verifier=pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_missing_verifier_is_refused(flow, user):
    params = flow.sign_in()
    response = flow.exchange(params["code"], verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_a_confidential_client_may_skip_pkce(flow, user):
    params = flow.sign_in(code_challenge=None, code_challenge_method=None)
    response = flow.exchange(params["code"], verifier=None)
    assert response.status_code == 200, response.text


def test_a_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant(flow, user):
    # RFC 9700 2.1.1 (PKCE downgrade): an attacker who stripped the challenge must not get through.
    params = flow.sign_in(code_challenge=None, code_challenge_method=None)
    verifier = pkce_pair()[0]
    response = flow.exchange(params["code"], verifier=verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "code_challenge" in response.json()["error_description"]


def test_the_rfc7636_example_pair_verifies(public_flow, user):
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    params = public_flow.sign_in(code_challenge=challenge)
    assert public_flow.exchange(params["code"], verifier=verifier).status_code == 200
