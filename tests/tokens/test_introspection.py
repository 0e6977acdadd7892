"""Token introspection (RFC 7662): client authentication, and a token revealed only to who may see it."""

import pytest
import requests
from oauth2_provider.models import get_access_token_model

from tests.tokens.conftest import API, introspect, refresh

pytestmark = pytest.mark.django_db(transaction=True)


def test_requires_client_authentication(issuer, signed_in):
    _client, _secret, body = signed_in
    anonymous = requests.post(f"{issuer}/introspect", data={"token": body["access_token"]}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_client"
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    wrong = introspect(issuer, body["access_token"], ("no-such-client", "x" * 40))
    assert (wrong.status_code, wrong.json()) == (anonymous.status_code, anonymous.json())
    assert requests.get(f"{issuer}/introspect", params={"token": "x"}, timeout=10).status_code == 405


def test_the_issuing_client_sees_its_token(issuer, signed_in, user):
    client, secret, body = signed_in
    answer = introspect(issuer, body["access_token"], (client.client_id, secret)).json()
    assert answer["active"] is True
    assert answer["client_id"] == client.client_id
    assert answer["sub"] == str(user.pk)
    assert answer["aud"] == API
    assert answer["scope"] == "openid profile email offline_access"
    assert answer["iss"] == issuer and answer["token_type"] == "Bearer"
    assert answer["exp"] > answer["iat"]

    rt = introspect(
        issuer, body["refresh_token"], (client.client_id, secret), token_type_hint="refresh_token"
    )
    assert rt.json()["active"] is True and rt.json()["token_type"] == "refresh_token"


def test_an_audience_sees_the_token_and_other_clients_do_not(issuer, signed_in, make_client):
    client, _secret, body = signed_in
    api, api_secret = make_client(client_id=API, grant="client-credentials")
    stranger, stranger_secret = make_client(grant="client-credentials")
    assert introspect(issuer, body["access_token"], (api.client_id, api_secret)).json()["active"] is True
    assert introspect(issuer, body["access_token"], (stranger.client_id, stranger_secret)).json() == {
        "active": False
    }
    # A refresh token is for its own client's eyes only, even an audience's.
    assert introspect(issuer, body["refresh_token"], (api.client_id, api_secret)).json() == {"active": False}


def test_expired_revoked_and_unknown_tokens_are_inactive(issuer, signed_in):
    from datetime import timedelta

    from django.utils import timezone

    client, secret, body = signed_in
    auth = (client.client_id, secret)
    assert introspect(issuer, "not-a-token", auth).json() == {"active": False}
    rotated = refresh(issuer, client, secret, body["refresh_token"]).json()
    assert introspect(issuer, body["access_token"], auth).json() == {"active": False}
    assert introspect(issuer, body["refresh_token"], auth).json() == {"active": False}
    get_access_token_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert introspect(issuer, rotated["access_token"], auth).json() == {"active": False}
