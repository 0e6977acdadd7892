"""UserInfo (OIDC Core 5.3): GET and POST, header or form body; RFC 6750 errors with their challenge."""

from datetime import timedelta

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tokens(flow, user):
    return flow.tokens(scope="openid email")


def userinfo_url(flow):
    return f"{flow.issuer}/userinfo"


def expected(user):
    return {"sub": str(user.pk), "email": "alice@example.com", "email_verified": True}


def assert_challenge(response, status, error):
    assert response.status_code == status, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert f'error="{error}"' in challenge
    assert response.json()["error"] == error


def test_get_with_the_token_in_the_header(flow, user, tokens):
    response = requests.get(
        userinfo_url(flow), headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == expected(user)
    assert "no-store" in response.headers.get("Cache-Control", "") or "max-age=0" in response.headers.get(
        "Cache-Control", ""
    )


def test_post_with_the_token_in_the_header(flow, user, tokens):
    response = requests.post(
        userinfo_url(flow), headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert response.status_code == 200 and response.json() == expected(user)


def test_post_with_the_token_in_the_form_body(flow, user, tokens):
    response = requests.post(userinfo_url(flow), data={"access_token": tokens["access_token"]}, timeout=10)
    assert response.status_code == 200 and response.json() == expected(user)


def test_no_token_is_a_bare_challenge(flow):
    response = requests.get(userinfo_url(flow), timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"  # RFC 6750 3.1: no error code


def test_a_token_in_the_query_string_is_refused(flow, tokens):
    response = requests.get(userinfo_url(flow), params={"access_token": tokens["access_token"]}, timeout=10)
    assert_challenge(response, 400, "invalid_request")


def test_a_token_sent_two_ways_is_refused(flow, tokens):
    response = requests.post(
        userinfo_url(flow),
        data={"access_token": tokens["access_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert_challenge(response, 400, "invalid_request")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer"])
def test_an_invalid_token_is_invalid_token(flow, token):
    response = requests.get(userinfo_url(flow), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert_challenge(response, 401, "invalid_token")


def test_an_expired_token_is_invalid_token(flow, tokens, monkeypatch):
    from datetime import UTC, datetime

    # The token decides its own expiry (exp): the provider's clock moves past it.
    later = datetime.now(UTC) + timedelta(seconds=601)
    monkeypatch.setattr("provider.oidc.access_tokens.current_time", lambda: later)
    assert_challenge(flow.userinfo(tokens["access_token"]), 401, "invalid_token")


def test_a_revoked_token_is_invalid_token(flow, tokens):
    revoked = requests.post(
        f"{flow.issuer}/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        auth=(flow.client.client_id, flow.secret),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert_challenge(flow.userinfo(tokens["access_token"]), 401, "invalid_token")


def test_a_token_without_the_openid_scope_is_insufficient_scope(flow, user):
    tokens = flow.tokens(scope="email")  # plain OAuth: an access token, no ID token
    assert "id_token" not in tokens
    assert_challenge(flow.userinfo(tokens["access_token"]), 403, "insufficient_scope")


def test_an_id_token_is_not_an_access_token(flow, tokens):
    assert_challenge(flow.userinfo(tokens["id_token"]), 401, "invalid_token")
