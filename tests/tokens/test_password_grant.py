"""The password grant: a legacy path, only for a client an operator registered for it."""

import warnings

import pytest

from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.tokens.conftest import API, refresh, token, unverified

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def first_party(make_client):
    return make_client(grant="password", audiences=[API])


def _login(issuer, client, secret, username, password, **extra):
    data = {
        "grant_type": "password",
        "username": username,
        "password": password,
        "scope": "openid email",
        **extra,
    }
    return token(issuer, data, auth=(client.client_id, secret))


def test_an_allowed_client_trades_email_and_password_for_tokens(issuer, first_party, user):
    client, secret = first_party
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = _login(issuer, client, secret, "ALICE@example.com", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    claims = unverified(body["access_token"])
    assert claims["sub"] == str(user.pk) and claims["aud"] == API and claims["scope"] == "openid email"
    assert claims["auth_time"] > 0
    assert refresh(issuer, client, secret, body["refresh_token"]).status_code == 200
    # Signet allows it on purpose for this client: no RFC 9700 deprecation noise on every login.
    assert not [w for w in caught if "RFC 9700" in str(w.message)]
    event = AuditEvent.objects.get(event="token.password_grant.succeeded")
    assert event.client_id == client.client_id and event.actor == str(user.pk)


def test_refused_for_every_other_client(issuer, rp_client, user):
    client, secret = rp_client
    response = _login(issuer, client, secret, user.email, PASSWORD)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"
    assert not AuditEvent.objects.filter(event__startswith="token.password_grant").exists()


def test_a_wrong_password_is_invalid_grant_and_audited_without_the_password(issuer, first_party, user):
    client, secret = first_party
    response = _login(issuer, client, secret, user.email, "not-the-password")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    event = AuditEvent.objects.get(event="token.password_grant.failed")
    assert "not-the-password" not in str(event.data) and event.actor == ""


def test_covered_by_the_same_brute_force_limit_as_the_login_page(issuer, first_party, user, settings):
    """Django's authenticate(request=...) runs the login-protection backend for the password grant too."""
    client, secret = first_party
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit):
        assert _login(issuer, client, secret, user.email, "wrong").status_code == 400
    locked = _login(issuer, client, secret, user.email, PASSWORD)
    assert locked.status_code in (400, 429)
    assert locked.json()["error"] in ("invalid_grant", "temporarily_unavailable", "slow_down")
    assert "access_token" not in locked.json()
