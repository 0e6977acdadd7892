"""client_credentials: confidential clients only; an access token about the client, nothing else."""

import pytest
import requests

from tests.tokens.conftest import API, token, unverified

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(make_client):
    return make_client(grant="client-credentials", audiences=[API])


def test_access_token_for_the_client_itself_without_refresh_or_id_token(issuer, service):
    client, secret = service
    response = token(issuer, {"grant_type": "client_credentials"}, auth=(client.client_id, secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body and "id_token" not in body
    claims = unverified(body["access_token"])
    assert claims["sub"] == client.client_id == claims["client_id"]
    assert claims["aud"] == API
    assert "auth_time" not in claims and "scope" not in claims
    # Not a user's token: userinfo has nobody to describe.
    userinfo = requests.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code in (401, 403)


@pytest.mark.parametrize("scope", ["openid email", "groups"])
def test_user_scopes_are_refused(issuer, service, scope):
    client, secret = service
    # A row allowed user scopes anyway (written before the checks, or by hand) still gets none.
    client.allowed_scopes = scope
    client.save()
    response = token(
        issuer, {"grant_type": "client_credentials", "scope": scope}, auth=(client.client_id, secret)
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": "A client acting on its own behalf gets no user scopes.",
    }


def test_only_clients_registered_for_it(issuer, rp_client):
    client, secret = rp_client
    response = token(issuer, {"grant_type": "client_credentials"}, auth=(client.client_id, secret))
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"


def test_public_clients_cannot_be_registered_for_it(make_client):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_client(grant="client-credentials", client_type="public")
