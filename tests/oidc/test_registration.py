"""Dynamic client registration (RFC 7591) and its management (RFC 7592), over real HTTP."""

import hashlib
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.conftest import REDIRECT_URI
from tests.oidc.flows import Flow
from tests.support import raw_http

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = {
    "redirect_uris": [REDIRECT_URI],
    "client_name": "Self-registered app",
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid profile offline_access",
    "contacts": ["dev@example.com"],
    "logo_uri": "https://rp.example.com/logo.png",
    "some_future_member": {"ignored": True},
}
CONFIDENTIAL = {"redirect_uris": [REDIRECT_URI], "client_name": "Confidential app"}


@pytest.fixture
def open_mode(issuer, settings):
    settings.SIGNET_REGISTRATION = "open"
    return issuer


@pytest.fixture
def token_mode(issuer, settings):
    settings.SIGNET_REGISTRATION = "token"
    return issuer


def register(issuer, metadata, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{issuer}/register", json=metadata, headers=headers, timeout=10)


def mint(expires_in=600):
    from provider.oidc.registration import initial_access_token_create

    return initial_access_token_create(expires_in=expires_in)[1]


def stored(client_id):
    from provider.oidc.models import Client

    return Client.objects.get(client_id=client_id)


def sha256(value):
    return hashlib.sha256(value.encode()).hexdigest()


def test_off_by_default_no_endpoint_and_nothing_in_discovery(issuer):
    assert requests.post(f"{issuer}/register", json=PUBLIC, timeout=10).status_code == 404
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert "registration_endpoint" not in metadata


def test_discovery_names_the_endpoint_when_on(open_mode):
    metadata = requests.get(f"{open_mode}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["registration_endpoint"] == f"{open_mode}/register"


# --- token mode ---------------------------------------------------------------------------------------


def test_token_mode_registers_a_confidential_client_and_uses_the_token_up(token_mode):
    from provider.audit.models import AuditEvent
    from provider.oidc.models import InitialAccessToken

    token = mint()
    before = int(timezone.now().timestamp())
    response = register(token_mode, CONFIDENTIAL, token)
    after = timezone.now().timestamp()
    assert response.status_code == 201, response.text
    body = response.json()
    assert "no-store" in response.headers["Cache-Control"]
    assert body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code"] and body["response_types"] == ["code"]
    assert body["redirect_uris"] == [REDIRECT_URI] and body["client_name"] == "Confidential app"
    assert body["registration_client_uri"] == f"{token_mode}/register/{body['client_id']}"
    assert before <= body["client_id_issued_at"] <= after
    # Stored hashed: neither the secret, the registration access token nor the initial one is in a row.
    client = stored(body["client_id"])
    assert client.registered_dynamically and client.client_secret != body["client_secret"]
    assert client.registration_access_token_checksum == sha256(body["registration_access_token"])
    row = InitialAccessToken.objects.get()
    assert row.checksum == sha256(token) and row.used_at is not None and row.client_id == body["client_id"]
    assert AuditEvent.objects.filter(event="client.registered", client_id=body["client_id"]).exists()
    # The secret works at the token endpoint (client_credentials is not its grant: unauthorized_client).
    answer = requests.post(
        f"{token_mode}/token",
        data={"grant_type": "client_credentials"},
        auth=(body["client_id"], body["client_secret"]),
        timeout=10,
    )
    assert answer.json()["error"] == "unauthorized_client", answer.text
    # Single-use: the same token cannot register a second client.
    again = register(token_mode, CONFIDENTIAL, token)
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"


@pytest.mark.parametrize("case", ["none", "wrong", "expired", "not-bearer"])
def test_token_mode_refuses_without_a_valid_initial_access_token(token_mode, case):
    from provider.oidc.models import Client, InitialAccessToken

    token = mint()
    if case == "expired":
        InitialAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    headers = {
        "none": {},
        "wrong": {"Authorization": f"Bearer {token}x"},
        "expired": {"Authorization": f"Bearer {token}"},
        "not-bearer": {"Authorization": f"Basic {token}"},
    }[case]
    response = requests.post(f"{token_mode}/register", json=CONFIDENTIAL, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if case in ("wrong", "expired"):
        assert response.json()["error"] == "invalid_token"
    assert not Client.objects.exists()


def test_a_refused_registration_leaves_the_initial_access_token_unused(token_mode):
    token = mint()
    refused = register(token_mode, {**CONFIDENTIAL, "redirect_uris": ["http://rp.example.com/cb"]}, token)
    assert refused.status_code == 400
    assert register(token_mode, CONFIDENTIAL, token).status_code == 201


def test_private_key_jwt_registration(token_mode):
    from tests.oidc.test_private_key_jwt import Signer

    jwks = {"keys": [Signer("ES256", "es-key").jwk]}
    metadata = {**CONFIDENTIAL, "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}
    response = register(token_mode, metadata, mint())
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body and body["jwks"]["keys"]
    assert stored(body["client_id"]).authenticates_with_key


# --- open mode ----------------------------------------------------------------------------------------


def test_open_mode_registers_a_public_client_that_completes_a_code_flow(open_mode, browser, user):
    response = register(open_mode, PUBLIC)
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["contacts"] == ["dev@example.com"] and body["logo_uri"] == PUBLIC["logo_uri"]
    assert "some_future_member" not in body  # ignored (RFC 7591 2)
    assert body["scope"] == "openid profile offline_access"
    client = stored(body["client_id"])
    assert client.client_type == "public" and not client.skip_authorization
    flow = Flow(issuer=open_mode, browser=browser, client=SimpleNamespace(client_id=body["client_id"]))
    # PKCE is required for it, as for every public client.
    refused = flow.at_relying_party(flow.authorize(code_challenge=None, code_challenge_method=None))
    assert refused["error"] == "invalid_request"
    tokens = flow.tokens(scope="openid offline_access")
    assert flow.id_token_claims(tokens["id_token"])["sub"] == str(user.pk)
    assert tokens["refresh_token"]


def test_open_mode_refuses_a_confidential_client(open_mode):
    from provider.oidc.models import Client

    for method in ("client_secret_basic", "client_secret_post", "private_key_jwt", None):
        metadata = {**CONFIDENTIAL, "token_endpoint_auth_method": method}
        response = register(open_mode, {k: v for k, v in metadata.items() if v is not None})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_client_metadata"
    assert not Client.objects.exists()


def test_open_mode_is_rate_limited_per_address(open_mode, settings, monkeypatch):
    # The limit counts in fixed windows of wall-clock time: one must not end mid-test.
    monkeypatch.setattr("provider.ratelimit.clock", lambda: 1_800_000_000.0)
    settings.SIGNET_RATELIMIT_REGISTRATION = "2/h"
    assert [register(open_mode, PUBLIC).status_code for _ in range(2)] == [201, 201]
    third = register(open_mode, PUBLIC)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
    assert stored_count() == 2


def stored_count():
    from provider.oidc.models import Client

    return Client.objects.count()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uris": ["http://rp.example.com/callback"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://rp.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://rp.example.com/callback"}, "invalid_redirect_uri"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"scope": "openid admin"}, "invalid_client_metadata"),
        ({"logo_uri": "http://rp.example.com/logo.png"}, "invalid_client_metadata"),
        ({"post_logout_redirect_uris": ["http://rp.example.com/out"]}, "invalid_client_metadata"),
        ({"client_name": "x" * 300}, "invalid_client_metadata"),
        ({"contacts": "dev@example.com"}, "invalid_client_metadata"),
        ({"software_statement": "eyJhbGciOiJub25lIn0.e30."}, "invalid_software_statement"),
        ({"padding": "x" * (17 * 1024)}, "invalid_client_metadata"),
    ],
)
def test_refused_registrations_answer_the_rfc_7591_error(open_mode, change, error):
    response = register(open_mode, {**PUBLIC, **change})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error and response.json()["error_description"]
    assert stored_count() == 0


def test_a_grant_scope_mismatch_is_invalid_client_metadata(token_mode):
    metadata = {"grant_types": ["client_credentials"], "scope": "openid email"}
    response = register(token_mode, metadata, mint())
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    assert "scope" in response.json()["error_description"]


NONE = b'{"redirect_uris": ["https://rp.example.com/cb"], "token_endpoint_auth_method": "none", '
HOSTILE = [
    (b"application/json", b"{"),
    (b"application/json", b"\xff\xfe\x00"),
    (b"application/json", b"[" * 5000 + b"]" * 5000),
    (b"application/json", b'"just a string"'),
    (b"application/json", b'{"redirect_uris": [null, 1, {}]}'),
    (b"application/json", b'{"redirect_uris": ["https://\xc3\x28/cb"]}'),
    (b"application/json", b'{"redirect_uris": ["https://[::1/cb"]}'),
    (b"application/json", b'{"grant_types": "authorization_code"}'),
    (b"application/json", b'{"jwks": [], "token_endpoint_auth_method": "private_key_jwt"}'),
    (b"application/json", b'{"redirect_uris": ["https://rp.example.com/\\u0000"]}'),
    # Open mode's own public client, so that only the NUL is wrong with it.
    (b"application/json", NONE + b'"client_name": "a\\u0000b"}'),
    (b"application/json", NONE + b'"contacts": ["\\u0000"]}'),
    (b"text/plain", b"redirect_uris=x"),
    (b"application/json\x00", b"{}"),
]


@pytest.mark.parametrize(("content_type", "body"), HOSTILE)
def test_hostile_bytes_never_answer_500(open_mode, content_type, body):
    response = raw_http.send(
        open_mode, "POST", b"/register", headers=[("Content-Type", content_type)], body=body
    )
    assert response.status_code in (400, 401), (response.status_code, response.text[:300])
    assert response.json()["error"]


def test_hostile_management_requests_never_answer_500(open_mode):
    for target in (b"/register/%ff%fe", b"/register/a%00b", b"/register/%c3%28", b"/register/" + b"a" * 3000):
        response = raw_http.send(open_mode, "GET", target, headers=[("Authorization", b"Bearer \xff\x00")])
        assert response.status_code in (400, 401, 404), (target, response.status_code)


# --- RFC 7592 management ------------------------------------------------------------------------------


def manage(body, method, token, metadata=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, body["registration_client_uri"], json=metadata, headers=headers, timeout=10
    )


def test_read_update_and_delete_with_the_registration_access_token(open_mode, browser, user):
    from provider.audit.models import AuditEvent
    from provider.oidc.models import TokenFamily

    body = register(open_mode, PUBLIC).json()
    token = body["registration_access_token"]

    read = manage(body, "GET", token)
    assert read.status_code == 200, read.text
    assert read.json()["redirect_uris"] == [REDIRECT_URI] and "registration_access_token" not in read.json()
    assert read.json()["client_name"] == "Self-registered app"

    new_uri = "https://rp.example.com/new-callback"
    replacement = {
        "client_id": body["client_id"],
        "redirect_uris": [new_uri],
        "client_name": "Renamed",
        "token_endpoint_auth_method": "none",
    }
    updated = manage(body, "PUT", token, replacement)
    assert updated.status_code == 200, updated.text
    # Full replacement: what the PUT left out (contacts, logo_uri) is gone.
    assert updated.json()["redirect_uris"] == [new_uri] and updated.json()["client_name"] == "Renamed"
    assert "contacts" not in updated.json() and "logo_uri" not in updated.json()
    # The scope left out is back to the default (which adds email to what PUBLIC registered).
    assert updated.json()["scope"] == "openid profile email offline_access"
    assert stored(body["client_id"]).redirect_uris == new_uri

    refused = manage(body, "PUT", token, {**replacement, "redirect_uris": ["http://rp.example.com/cb"]})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    other_id = manage(body, "PUT", token, {**replacement, "client_id": "someone-else"})
    assert other_id.status_code == 400 and other_id.json()["error"] == "invalid_client_metadata"

    # A grant it got ends with it.
    flow = Flow(
        issuer=open_mode,
        browser=browser,
        client=SimpleNamespace(client_id=body["client_id"]),
        redirect_uri=new_uri,
    )
    params = flow.sign_in()
    tokens = flow.exchange(params["code"]).json()
    assert TokenFamily.objects.filter(client__client_id=body["client_id"]).exists()

    deleted = manage(body, "DELETE", token)
    assert deleted.status_code == 204
    assert stored_count() == 0 and not TokenFamily.objects.exists()
    assert flow.userinfo(tokens["access_token"]).status_code == 401
    assert manage(body, "GET", token).status_code == 401
    events = set(AuditEvent.objects.filter(client_id=body["client_id"]).values_list("event", flat=True))
    assert {"client.registered", "client.registration_updated", "client.registration_deleted"} <= events


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_management_is_refused_without_the_right_token(open_mode, method):
    body = register(open_mode, PUBLIC).json()
    other = register(open_mode, PUBLIC).json()
    metadata = {"client_id": body["client_id"], **PUBLIC}
    for token in (None, "wrong", other["registration_access_token"]):
        response = manage(body, method, token, metadata)
        assert response.status_code == 401, (token, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if token:
            assert response.json()["error"] == "invalid_token"
    assert stored(body["client_id"]).name == "Self-registered app"


def test_an_operators_client_cannot_be_managed_through_registration(open_mode, rp_client):
    from provider.oidc.models import Client

    client, _secret = rp_client
    Client.objects.filter(pk=client.pk).update(registration_access_token_checksum=sha256("guess"))
    response = requests.get(
        f"{open_mode}/register/{client.client_id}", headers={"Authorization": "Bearer guess"}, timeout=10
    )
    assert response.status_code == 401


# --- id_token_signed_response_alg (OIDC Dynamic Client Registration 2) --------------------------------


@pytest.fixture
def es256(open_mode, settings):
    """ES256 offered next to RS256, the ring holding keys for both."""
    from keys import selectors, services

    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    services.key_ensure_active()
    selectors.invalidate()
    return open_mode


def test_a_client_registered_with_es256_gets_es256_id_tokens(es256, browser, user):
    from tests.oidc.test_signing_algorithms import pyjwt_verify

    response = register(es256, {**PUBLIC, "id_token_signed_response_alg": "ES256"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id_token_signed_response_alg"] == "ES256"
    assert stored(body["client_id"]).id_token_signed_response_alg == "ES256"
    flow = Flow(issuer=es256, browser=browser, client=SimpleNamespace(client_id=body["client_id"]))
    tokens = flow.tokens(scope="openid")
    claims = pyjwt_verify(es256, tokens["id_token"], alg="ES256", audience=body["client_id"], typ="JWT")
    assert claims["sub"] == str(user.pk)


def test_the_alg_defaults_to_rs256_and_is_returned_on_read(es256):
    body = register(es256, PUBLIC).json()
    assert body["id_token_signed_response_alg"] == "RS256"
    assert stored(body["client_id"]).id_token_signed_response_alg == "RS256"
    read = manage(body, "GET", body["registration_access_token"])
    assert read.json()["id_token_signed_response_alg"] == "RS256"


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RS512", "EdDSA", "es256", "", 256, ["ES256"]])
def test_an_alg_not_offered_is_invalid_client_metadata(es256, alg):
    # EdDSA is a real Signet algorithm, but not in this deployment's SIGNET_SIGNING_ALGS; "" is no alg.
    response = register(es256, {**PUBLIC, "id_token_signed_response_alg": alg})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert "id_token_signed_response_alg" in response.json()["error_description"]
    assert stored_count() == 0


def test_put_changes_the_alg_under_the_same_rules(es256, settings):
    body = register(es256, PUBLIC).json()
    token = body["registration_access_token"]
    metadata = {"client_id": body["client_id"], **PUBLIC}
    updated = manage(body, "PUT", token, {**metadata, "id_token_signed_response_alg": "ES256"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["id_token_signed_response_alg"] == "ES256"
    assert manage(body, "GET", token).json()["id_token_signed_response_alg"] == "ES256"
    assert stored(body["client_id"]).id_token_signed_response_alg == "ES256"
    refused = manage(body, "PUT", token, {**metadata, "id_token_signed_response_alg": "none"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"
    assert stored(body["client_id"]).id_token_signed_response_alg == "ES256"
    # ES256 taken out of the deployment: the client's tokens fall back to RS256, and a read says so,
    # so that the client can PUT back what it read.
    settings.SIGNET_SIGNING_ALGS = ("RS256",)
    read = manage(body, "GET", token).json()
    assert read["id_token_signed_response_alg"] == "RS256"
    replaced = manage(body, "PUT", token, {k: v for k, v in read.items() if k in {"client_id", *PUBLIC}})
    assert replaced.status_code == 200, replaced.text
    # A full replacement: the alg left out is RS256 again.
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    manage(body, "PUT", token, {**metadata, "id_token_signed_response_alg": "ES256"})
    assert manage(body, "PUT", token, metadata).json()["id_token_signed_response_alg"] == "RS256"


# --- operators -----------------------------------------------------------------------------------------


def test_cli_mints_a_single_use_token_stored_hashed(token_mode):
    from provider.audit.models import AuditEvent
    from provider.oidc.models import InitialAccessToken

    out = io.StringIO()
    before = timezone.now()
    call_command("clients", "registration-token", "--expires-in", "120", "--json", stdout=out)
    after = timezone.now()
    result = json.loads(out.getvalue())
    token = result["initial_access_token"]
    row = InitialAccessToken.objects.get()
    assert row.checksum == sha256(token) and token not in json.dumps(
        list(InitialAccessToken.objects.values()), default=str
    )
    assert before + timedelta(seconds=120) <= row.expires_at <= after + timedelta(seconds=120)
    assert AuditEvent.objects.filter(event="registration_token.created").exists()
    assert register(token_mode, CONFIDENTIAL, token).status_code == 201


def test_the_registration_still_traces_to_its_minting_once_the_token_is_purged(token_mode):
    from provider.audit.models import AuditEvent
    from provider.oidc.housekeeping import tokens_purge
    from provider.oidc.models import InitialAccessToken

    call_command("clients", "registration-token", "--json", stdout=io.StringIO())
    out = io.StringIO()
    call_command("clients", "registration-token", "--json", stdout=out)
    token = json.loads(out.getvalue())["initial_access_token"]
    body = register(token_mode, CONFIDENTIAL, token).json()
    assert tokens_purge()["initial_access_tokens"] == 1  # used; the other one is still unused
    assert InitialAccessToken.objects.count() == 1
    registered = AuditEvent.objects.get(event="client.registered", client_id=body["client_id"])
    minted = AuditEvent.objects.filter(event="registration_token.created").order_by("id").last()
    assert registered.data["token_id"] == minted.data["token_id"]
    assert not InitialAccessToken.objects.filter(pk=minted.data["token_id"]).exists()


def test_cli_refuses_a_non_positive_lifetime(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("clients", "registration-token", "--expires-in", "0", stdout=io.StringIO())


def test_admin_marks_registered_clients_and_can_disable_them(open_mode, client, django_user_model, rp_client):
    body = register(open_mode, PUBLIC).json()
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    client.force_login(operator)
    listing = client.get(reverse("admin:oidc_client_changelist"))
    assert listing.status_code == 200
    assert listing.content.decode().count("self-registered") == 1
    only_registered = client.get(
        reverse("admin:oidc_client_changelist"), {"registration_source__exact": "dcr"}
    )
    page = only_registered.content.decode()
    assert body["client_id"] in page and rp_client[0].client_id not in page
    registered = stored(body["client_id"])
    change = client.get(reverse("admin:oidc_client_change", args=[registered.pk]))
    assert "self-registered" in change.content.decode()
    client.post(
        reverse("admin:oidc_client_changelist"),
        {"action": "disable_clients", "_selected_action": [registered.pk]},
    )
    assert not stored(body["client_id"]).is_active
