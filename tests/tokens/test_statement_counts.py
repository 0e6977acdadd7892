"""The token endpoint touches each row it needs once.

SQL statements are most of a token request's CPU (bench/token_cost.py: each costs the worker about
0.35 ms through the ORM), so these tests pin the statements each grant runs, by kind and table.
A new read-back of a row Signet already holds fails here; savepoints are left out, since the test's
transaction handling (BEGIN, COMMIT, savepoints) differs between PostgreSQL and SQLite.
"""

import base64
import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model

from tests.conftest import REDIRECT_URI
from tests.tokens.conftest import mint_code

# Committed rows, as in production: keys created inside a test's transaction are re-checked per use.
pytestmark = pytest.mark.django_db(transaction=True)

VERB_TABLE = re.compile(
    r'^(SELECT)\b.*? FROM "(\w+)"|^(INSERT) INTO "(\w+)"|^(UPDATE) "(\w+)"|^(DELETE) FROM "(\w+)"', re.S
)


def _statements(captured):
    """(verb, table) per statement that reads or writes a table, in order."""
    found = []
    for query in captured.captured_queries:
        match = VERB_TABLE.match(query["sql"].strip())
        if match:
            verb, table = (group for group in match.groups() if group)
            found.append((verb, table))
    return found


@pytest.fixture(autouse=True)
def _key_ring_loaded_once(settings):
    # Production checks the key ring's version every SIGNET_KEY_RELOAD_SECONDS, not per request.
    settings.SIGNET_KEY_RELOAD_SECONDS = 3600


def _post(client_id, secret, data):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return HttpClient().post(
        "/token",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


@pytest.fixture
def service(db):
    from provider.oidc.services import client_create

    return client_create(
        name="Service", client_type="confidential", grant="client-credentials", audiences=["https://api"]
    )


def test_client_credentials_writes_the_token_and_its_audit_row_and_reads_nothing(service):
    client, secret = service
    _post(client.client_id, secret, {"grant_type": "client_credentials"})  # warm the key ring
    with CaptureQueriesContext(connection) as captured:
        response = _post(client.client_id, secret, {"grant_type": "client_credentials"})
    assert response.status_code == 200, response.content
    assert _statements(captured) == [
        # The client: from client_cache since the warm-up request.
        ("INSERT", "oauth2_provider_accesstoken"),
        ("INSERT", "audit_auditevent"),
    ]


def _exchange(client, secret, code_and_verifier):
    code, verifier = code_and_verifier
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    return _post(client.client_id, secret, data)


def _code(client, user):
    return mint_code(client, user, scope="openid profile offline_access")


def test_a_code_exchange_reads_the_code_row_once_for_validation(rp_client, user):
    client, secret = rp_client
    _exchange(client, secret, _code(client, user))  # warm
    code = _code(client, user)
    with CaptureQueriesContext(connection) as captured:
        response = _exchange(client, secret, code)
    assert response.status_code == 200, response.content
    assert _statements(captured) == [
        # Locked with its user when oauthlib's OpenID dispatcher asks for the code's scopes, before
        # the client is known; the row then answers every later question.
        ("SELECT", "oidc_authorizationcode"),
        ("INSERT", "oauth2_provider_idtoken"),
        ("INSERT", "oauth2_provider_accesstoken"),
        ("INSERT", "oauth2_provider_refreshtoken"),
        ("INSERT", "oidc_tokenfamily"),
        ("DELETE", "oidc_authorizationcode"),
        ("INSERT", "audit_auditevent"),
    ]


def test_a_refresh_rotates_the_locked_token_without_reading_it_again(rp_client, user):
    client, secret = rp_client
    first = _exchange(client, secret, _code(client, user)).json()
    with CaptureQueriesContext(connection) as captured:
        response = _post(
            client.client_id, secret, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        )
    assert response.status_code == 200, response.content
    assert _statements(captured) == [
        # Locked, with its access token, that token's claims request (none here) and the user.
        ("SELECT", "oauth2_provider_refreshtoken"),
        ("SELECT", "oidc_tokenfamily"),
        ("INSERT", "oauth2_provider_idtoken"),
        ("UPDATE", "oauth2_provider_refreshtoken"),  # the old refresh token: used, unlinked
        ("DELETE", "oauth2_provider_accesstoken"),  # the old access token, without the collector's reads
        ("INSERT", "oauth2_provider_accesstoken"),
        ("INSERT", "oauth2_provider_refreshtoken"),
        ("INSERT", "audit_auditevent"),
    ]
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = _post(
        client.client_id, secret, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"


def test_only_the_refresh_token_and_the_claims_request_point_at_an_access_token():
    """Refresh rotation deletes the old access token with one DELETE, after unlinking its refresh
    token and deleting its claims request (token_grants._save_bearer_token). Another table pointing
    at access tokens would need handling there first."""
    pointing = sorted(
        (rel.related_model._meta.label, rel.on_delete.__name__)
        for rel in get_access_token_model()._meta.related_objects
    )
    assert pointing == [
        ("oauth2_provider.RefreshToken", "SET_NULL"),
        ("oidc.UserinfoClaimsRequest", "CASCADE"),
    ]


def test_userinfo_reads_the_token_with_its_client_user_and_claims_request_at_once(rp_client, user):
    client, secret = rp_client
    access_token = _exchange(client, secret, _code(client, user)).json()["access_token"]
    HttpClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")  # warm
    with CaptureQueriesContext(connection) as captured:
        response = HttpClient().get("/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(user.pk)
    assert _statements(captured) == [("SELECT", "oauth2_provider_accesstoken")]
