"""Token introspection (RFC 7662): client authentication, and a token revealed only to who may see it."""

import pytest
import requests

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


def test_expired_revoked_and_unknown_tokens_are_inactive(issuer, signed_in, monkeypatch):
    from datetime import UTC, datetime, timedelta

    client, secret, body = signed_in
    auth = (client.client_id, secret)
    assert introspect(issuer, "not-a-token", auth).json() == {"active": False}
    rotated = refresh(issuer, client, secret, body["refresh_token"]).json()
    assert introspect(issuer, body["access_token"], auth).json() == {"active": False}
    assert introspect(issuer, body["refresh_token"], auth).json() == {"active": False}
    assert introspect(issuer, rotated["access_token"], auth).json()["active"] is True
    later = datetime.now(UTC) + timedelta(seconds=601)  # past its exp: the token decides its own expiry
    monkeypatch.setattr("provider.oidc.access_tokens.current_time", lambda: later)
    assert introspect(issuer, rotated["access_token"], auth).json() == {"active": False}


def _userinfo(issuer, access_token):
    return requests.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def _assert_invalid_token(response):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_deactivated_users_tokens_are_inactive_at_once(issuer, signed_in, user, make_client):
    """Issue 14, finding 6: introspection, userinfo and refresh all end with the account."""
    client, secret, body = signed_in
    api, api_secret = make_client(client_id=API, grant="client-credentials")
    auth = (client.client_id, secret)
    assert introspect(issuer, body["access_token"], auth).json()["active"] is True
    assert _userinfo(issuer, body["access_token"]).status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert introspect(issuer, body["access_token"], auth).json() == {"active": False}
    assert introspect(issuer, body["access_token"], (api.client_id, api_secret)).json() == {"active": False}
    assert introspect(issuer, body["refresh_token"], auth).json() == {"active": False}
    _assert_invalid_token(_userinfo(issuer, body["access_token"]))
    refused = refresh(issuer, client, secret, body["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_client_disabled_in_the_admin_has_its_tokens_inactive_at_once(issuer, signed_in, make_client):
    """Issue 14, finding 6: the admin's Disable ends the client's tokens at introspection and userinfo
    at once, though the worker had just cached the client (client_cache forgets it when it is saved)."""
    from django.contrib.auth import get_user_model
    from django.test import Client as Browser
    from django.urls import reverse

    client, secret, body = signed_in
    api, api_secret = make_client(client_id=API, grant="client-credentials")
    service, service_secret = make_client(grant="client-credentials", audiences=[API])
    service_token = requests.post(
        f"{issuer}/token", data={"grant_type": "client_credentials"}, auth=(service.client_id, service_secret)
    ).json()["access_token"]
    as_api = (api.client_id, api_secret)
    for token_value in (body["access_token"], service_token):
        assert introspect(issuer, token_value, as_api).json()["active"] is True
    assert _userinfo(issuer, body["access_token"]).status_code == 200  # the client is cached now

    operator = get_user_model().objects.create_superuser("operator@example.com", "operator password 123")
    admin = Browser()
    admin.force_login(operator)
    changed = admin.post(
        reverse("admin:oidc_client_changelist"),
        {"action": "disable_clients", "_selected_action": [client.pk, service.pk]},
    )
    assert changed.status_code == 302

    for token_value in (body["access_token"], service_token):
        assert introspect(issuer, token_value, as_api).json() == {"active": False}
    _assert_invalid_token(_userinfo(issuer, body["access_token"]))
    # The client itself is refused before its refresh token is looked at.
    refused = refresh(issuer, client, secret, body["refresh_token"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
