"""Self-contained access tokens still end with their grant, at once (issue 15, decision 2).

Each event that ends a grant (or the standing of its client or user, or the key that signed it)
must turn the grant's access tokens inactive at /introspect and refused at /userinfo on the very
next request, over real HTTP, with nothing stored per access token. And a token revoked at /revoke
stays on the deny-list exactly until it expires.
"""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from django.test import Client as HttpClient
from django.urls import reverse

from provider.oidc.housekeeping import tokens_purge
from provider.oidc.models import RevokedAccessToken, TokenFamily
from tests.oidc.flows import Flow
from tests.oidc.test_logout import logout
from tests.support.browser import forms
from tests.tokens.conftest import API, basic, unverified

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def flow(issuer, browser, rp_client, make_client):
    client, secret = rp_client
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    # The resource server the tokens are for introspects them: it still can when the client is disabled.
    flow.api = make_client(client_id=API, grant="client-credentials")
    return flow


def introspected(flow, token):
    api, secret = flow.api
    return requests.post(
        f"{flow.issuer}/introspect", data={"token": token}, headers=basic(api.client_id, secret), timeout=10
    ).json()


def assert_active(flow, token):
    assert introspected(flow, token)["active"] is True
    assert flow.userinfo(token).status_code == 200


def assert_ended(flow, token):
    assert introspected(flow, token) == {"active": False}
    response = flow.userinfo(token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def refresh_reuse(flow, tokens, user):
    rotated = flow.refresh(tokens["refresh_token"]).json()
    assert_active(flow, rotated["access_token"])
    assert flow.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"  # replayed
    return rotated["access_token"]


def sign_out(flow, tokens, user):
    page = logout(flow)
    flow.browser.submit(page, button="allow")
    return tokens["access_token"]


def consent_revoked(flow, tokens, user):
    page = flow.browser.get("/accounts/consents/")
    index = next(
        i for i, f in enumerate(forms(page.text)) if f["fields"].get("client_id") == flow.client.client_id
    )
    assert flow.browser.submit(page, form_index=index).status_code == 200
    return tokens["access_token"]


def admin_revokes_the_grant(flow, tokens, user):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("operator@example.com", "operator password 123")
    http = HttpClient()
    http.force_login(operator)
    grant = TokenFamily.objects.get(family=unverified(tokens["access_token"])["grant_id"])
    response = http.post(
        reverse("admin:oidc_tokenfamily_changelist"),
        {"action": "revoke_grants", "_selected_action": [grant.pk]},
    )
    assert response.status_code == 302
    return tokens["access_token"]


def user_disabled(flow, tokens, user):
    user.is_active = False
    user.save()
    return tokens["access_token"]


def client_disabled(flow, tokens, user):
    flow.client.is_active = False
    flow.client.save()
    return tokens["access_token"]


def signing_key_revoked(flow, tokens, user):
    from keys import selectors, services

    services.key_revoke(kid=jwt.get_unverified_header(tokens["access_token"])["kid"])
    selectors.invalidate()
    return tokens["access_token"]


def password_changed(flow, tokens, user):
    from accounts.services import password_changed_notify

    user.set_password("a brand new passphrase 42")
    user.save()
    password_changed_notify(user=user, reason="admin")
    return tokens["access_token"]


EVENTS = [
    refresh_reuse,
    sign_out,
    consent_revoked,
    admin_revokes_the_grant,
    user_disabled,
    client_disabled,
    signing_key_revoked,
    password_changed,
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.__name__ for e in EVENTS])
def test_each_event_ends_the_grants_access_tokens_at_once(flow, user, event):
    tokens = flow.tokens(scope="openid profile email")  # session-bound: sign-out ends it too
    assert_active(flow, tokens["access_token"])
    ended = event(flow, tokens, user)
    assert_ended(flow, ended)


def test_a_refresh_ends_the_access_token_it_replaces(flow, user):
    tokens = flow.tokens(scope="openid profile")
    rotated = flow.refresh(tokens["refresh_token"]).json()
    assert_ended(flow, tokens["access_token"])
    assert_active(flow, rotated["access_token"])


def test_a_token_revoked_at_revoke_is_denied_until_it_expires_then_forgotten(flow, user, monkeypatch):
    tokens = flow.tokens(scope="openid profile")
    claims = unverified(tokens["access_token"])
    response = requests.post(
        f"{flow.issuer}/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(flow.client.client_id, flow.secret),
        timeout=10,
    )
    assert response.status_code == 200
    assert_ended(flow, tokens["access_token"])
    # Only that token: the grant and its refresh token live on.
    rotated = flow.refresh(tokens["refresh_token"])
    assert rotated.status_code == 200
    assert_active(flow, rotated.json()["access_token"])
    entry = RevokedAccessToken.objects.get(jti=claims["jti"])
    assert entry.expires_at == datetime.fromtimestamp(claims["exp"], tz=UTC)
    # Kept while the token could still be presented...
    tokens_purge(now=entry.expires_at - timedelta(seconds=1))
    assert RevokedAccessToken.objects.filter(jti=claims["jti"]).exists()
    # ...and dropped once it has expired: by then exp alone refuses it.
    tokens_purge(now=entry.expires_at)
    assert not RevokedAccessToken.objects.filter(jti=claims["jti"]).exists()
    later = entry.expires_at + timedelta(seconds=1)
    monkeypatch.setattr("provider.oidc.access_tokens.current_time", lambda: later)
    assert introspected(flow, tokens["access_token"]) == {"active": False}


def test_another_clients_revoke_of_an_access_token_changes_nothing(flow, user, make_client):
    tokens = flow.tokens(scope="openid profile")
    other, other_secret = make_client()
    response = requests.post(
        f"{flow.issuer}/revoke",
        data={"token": tokens["access_token"]},
        auth=(other.client_id, other_secret),
        timeout=10,
    )
    assert response.status_code == 200  # RFC 7009 2.2: the same answer, whatever the token
    assert not RevokedAccessToken.objects.exists()
    assert_active(flow, tokens["access_token"])
