"""Token revocation (RFC 7009) of access and refresh tokens."""

import pytest
import requests

from tests.tokens.conftest import introspect, refresh

pytestmark = pytest.mark.django_db(transaction=True)


def revoke(issuer, token_value, auth, **extra):
    return requests.post(f"{issuer}/revoke", data={"token": token_value, **extra}, auth=auth, timeout=10)


def _userinfo(issuer, access_token):
    return requests.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_revoking_an_access_token(issuer, signed_in):
    client, secret, body = signed_in
    assert _userinfo(issuer, body["access_token"]).status_code == 200
    response = revoke(
        issuer, body["access_token"], (client.client_id, secret), token_type_hint="access_token"
    )
    assert response.status_code == 200
    assert introspect(issuer, body["access_token"], (client.client_id, secret)).json() == {"active": False}
    assert _userinfo(issuer, body["access_token"]).status_code == 401


def test_revoking_a_refresh_token_revokes_its_access_tokens(issuer, signed_in):
    client, secret, body = signed_in
    response = revoke(
        issuer, body["refresh_token"], (client.client_id, secret), token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    assert refresh(issuer, client, secret, body["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(issuer, body["access_token"], (client.client_id, secret)).json() == {"active": False}
    assert _userinfo(issuer, body["access_token"]).status_code == 401


def test_another_client_cannot_revoke_and_learns_nothing(issuer, signed_in, make_client):
    client, secret, body = signed_in
    other, other_secret = make_client()
    response = revoke(issuer, body["refresh_token"], (other.client_id, other_secret))
    assert response.status_code == 200  # RFC 7009 2.2: same answer as for an unknown token
    assert refresh(issuer, client, secret, body["refresh_token"]).status_code == 200


def test_revocation_requires_client_authentication(issuer, signed_in):
    client, _secret, body = signed_in
    response = revoke(issuer, body["access_token"], (client.client_id, "wrong-secret-" + "x" * 30))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
