"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document), SIGNET_CIMD: a client
whose client_id is the https URL of its metadata, served here by a local https server. Over real HTTP
against the live server; the documents' clock is pinned (metadata_documents.clock)."""

import html
import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import requests

from tests.oidc.flows import Flow, is_consent_page, is_login_page
from tests.support.clock import FrozenClock
from tests.support.https_server import HttpsServer
from tests.support.raw_http import send

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "https://app.example.com/callback"


def document(url, **overrides):
    doc = {
        "client_id": url,
        "client_name": "Example MCP Client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "logo_uri": "https://app.example.com/logo.png",
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


@pytest.fixture
def documents(tmp_path, monkeypatch, settings):
    """A client's document server on loopback, trusted, with the private-address guard off for it."""
    from provider.oidc import metadata_documents

    server = HttpsServer(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    settings.SIGNET_CIMD = True
    settings.SIGNET_CIMD_ALLOW_PRIVATE = True  # the server is on loopback
    server.clock = FrozenClock()
    monkeypatch.setattr(metadata_documents, "clock", server.clock)
    server.url = f"https://localhost:{server.port}/client.json"
    server.jwks = document(server.url)
    metadata_documents.clear()
    yield server
    metadata_documents.clear()
    server.close()


def cimd_flow(issuer, browser, url, redirect_uri=REDIRECT):
    # The client has no row before its first request: the flow knows it by its client_id alone.
    return Flow(
        issuer=issuer, browser=browser, client=SimpleNamespace(client_id=url), redirect_uri=redirect_uri
    )


def cimd_client(url):
    from provider.oidc.models import Client

    return Client.objects.filter(client_id=url).first()


def error_page(response):
    """The authorization endpoint's error page (never a redirect): its text, unescaped."""
    assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    return html.unescape(response.text)


def token_refused(issuer, client_id):
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": client_id,
            "code_verifier": "v" * 43,
        },
        timeout=10,
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    return response


# --- the flow ---------------------------------------------------------------------------------------
def test_a_document_client_signs_in_with_code_and_pkce_and_gets_tokens(issuer, browser, user, documents):
    from provider.audit.models import AuditEvent

    flow = cimd_flow(issuer, browser, documents.url)
    response = flow.authorize(scope="openid offline_access")
    assert is_login_page(response)
    response = flow.log_in(response)
    # The consent page names the client as its document does, and the host that says so.
    assert is_consent_page(response)
    assert "Example MCP Client" in response.text and "localhost" in response.text
    params = flow.at_relying_party(flow.allow(response))
    assert params["iss"] == issuer

    tokens = flow.exchange(params["code"])
    assert tokens.status_code == 200, tokens.text
    tokens = tokens.json()
    assert flow.id_token_claims(tokens["id_token"])["aud"] == documents.url
    assert documents.hits == 1  # fetched once, kept for its max-age

    client = cimd_client(documents.url)
    assert client.from_metadata_document and client.client_type == "public"
    assert client.redirect_uris == REDIRECT and client.name == "Example MCP Client"
    assert client.registration_metadata["logo_uri"] == "https://app.example.com/logo.png"
    assert AuditEvent.objects.filter(event="client.metadata_fetched", client_id=documents.url).count() == 1

    # A public client elsewhere: refresh and revocation know it by its URL.
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    revoked = requests.post(
        f"{issuer}/revoke", data={"token": refreshed.json()["refresh_token"], "client_id": documents.url}
    )
    assert revoked.status_code == 200
    assert documents.hits == 1


@pytest.mark.parametrize("method", ["none", "private_key_jwt"])
def test_pkce_is_required_even_of_a_client_with_keys(issuer, browser, user, documents, method):
    keys = {"jwks_uri": "https://app.example.com/jwks"} if method == "private_key_jwt" else {}
    documents.jwks = document(documents.url, token_endpoint_auth_method=method, **keys)
    flow = cimd_flow(issuer, browser, documents.url)
    response = flow.authorize(code_challenge=None, code_challenge_method=None)
    if is_login_page(response):
        response = flow.log_in(response)
    assert flow.at_relying_party(response)["error"] == "invalid_request"


def test_consent_is_asked_every_time(issuer, browser, user, documents):
    flow = cimd_flow(issuer, browser, documents.url)
    assert "code" in flow.sign_in()
    response = flow.authorize()
    assert is_consent_page(response)  # remembered consent is not used for a document's client
    assert flow.at_relying_party(flow.authorize(prompt="none"))["error"] == "consent_required"
    client = cimd_client(documents.url)
    client.skip_authorization = True
    client.save()
    client.refresh_from_db()
    assert client.skip_authorization is False


def test_a_private_key_jwt_document_client_is_confidential_and_needs_its_keys(documents):
    from provider.oidc import metadata_documents

    documents.jwks = document(
        documents.url, token_endpoint_auth_method="private_key_jwt", jwks_uri="https://app.example.com/jwks"
    )
    client = metadata_documents.client_for(documents.url)
    assert client.client_type == "confidential" and client.authenticates_with_key
    assert client.client_secret == ""


def test_a_device_grant_document_client_starts_a_device_authorization(issuer, documents):
    documents.jwks = document(
        documents.url,
        grant_types=["urn:ietf:params:oauth:grant-type:device_code"],
        response_types=[],
        redirect_uris=None,
    )
    response = requests.post(
        f"{issuer}/device/authorize", data={"client_id": documents.url, "scope": "openid"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert "device_code" in response.json()


@pytest.mark.postgres  # SQLite's shared in-memory database locks the table instead of racing
def test_two_first_requests_at_once_register_one_client(documents):
    import threading

    from django.db import connection

    from provider.oidc import metadata_documents

    found, barrier = [], threading.Barrier(4)

    def first_request():
        barrier.wait()
        try:
            found.append(metadata_documents.client_for(documents.url).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and len(set(found)) == 1


# --- refused ------------------------------------------------------------------------------------------
def test_a_private_address_is_refused_unless_allowed(issuer, browser, documents, settings):
    settings.SIGNET_CIMD_ALLOW_PRIVATE = False
    flow = cimd_flow(issuer, browser, documents.url)
    assert "private, loopback or link-local" in error_page(flow.authorize())
    token_refused(issuer, documents.url)
    assert documents.hits == 0
    assert cimd_client(documents.url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://localhost:{port}/client.json", "must use https"),
        ("https://localhost:{port}/client.json#x", "fragment"),
        ("https://localhost:{port}/client.json#", "fragment"),
        ("https://user@localhost:{port}/client.json", "user name or password"),
        ("https://user:pw@localhost:{port}/client.json", "user name or password"),
        ("https://localhost:{port}/a/../client.json", "path segments"),
        ("https://localhost:{port}/./client.json", "path segments"),
        ("https://localhost:{port}/a/%2E%2e/client.json", "path segments"),
        ("https://localhost:{port}", "must have a path"),
        ("https://localhost:{port}/", "must have a path"),
        ("https://localhost:{port}/" + "a" * 250, "at most 255"),
        ("https://localhost:{port}/a b", "printable ASCII"),
        ("https://localhost:{port}/caf\u00e9", "printable ASCII"),
        ("https://localhost:99999/client.json", "not a URL"),
    ],
)
def test_a_bad_client_id_url_is_refused_without_a_fetch(issuer, browser, documents, url, reason):
    url = url.format(port=documents.port)
    flow = cimd_flow(issuer, browser, url)
    assert reason in error_page(flow.authorize())
    token_refused(issuer, url)
    assert documents.hits == 0


@pytest.mark.parametrize(
    ("serve", "reason"),
    [
        ({"client_id": "https://elsewhere.example/client.json"}, "client_id is not its URL"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "must be none or private_key_jwt"),
        ({"token_endpoint_auth_method": "client_secret_post"}, "must be none or private_key_jwt"),
        ({"client_secret": "s3cret-s3cret-s3cret"}, "must not hold a client_secret"),
        ({"redirect_uris": ["http://app.example.com/callback"]}, "must use https"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "without a fragment"),
        ({"redirect_uris": None}, "redirect_uris is required"),
        ({"redirect_uris": "https://app.example.com/callback"}, "must be an array"),
        ({"grant_types": ["implicit"]}, "Unsupported grant_types"),
        ({"client_name": "\x00"}, "NUL"),
        ({"jwks_uri": "https://app.example.com/jwks"}, "are for token_endpoint_auth_method private_key_jwt"),
    ],
)
def test_a_bad_document_is_refused(issuer, browser, documents, serve, reason):
    documents.jwks = document(documents.url, **serve)
    flow = cimd_flow(issuer, browser, documents.url)
    assert reason in error_page(flow.authorize())
    assert cimd_client(documents.url) is None


@pytest.mark.parametrize(
    ("serve", "reason"),
    [
        ({"body": b"not json"}, "did not serve JSON"),
        ({"body": b"[1, 2]"}, "must be a JSON object"),
        ({"body": b"[" * 5000 + b"]" * 5000}, "did not serve JSON"),
        ({"body": b" " * (17 * 1024)}, "larger than 16384 bytes"),
        ({"status": 302}, "answered 302"),  # the server redirects to a path serving the document
        ({"status": 404}, "answered 404"),
        ({"status": 503}, "answered 503"),
        ({"delay": 1.5}, "could not be read"),  # FETCH_TIMEOUT_SECONDS is 1 here
    ],
)
def test_a_bad_answer_is_refused(issuer, browser, documents, monkeypatch, serve, reason):
    from provider.oidc import metadata_documents

    monkeypatch.setattr(metadata_documents, "FETCH_TIMEOUT_SECONDS", 1)
    for name, value in serve.items():
        setattr(documents, name, value)
    flow = cimd_flow(issuer, browser, documents.url)
    assert reason in error_page(flow.authorize())
    assert cimd_client(documents.url) is None


def test_an_untrusted_certificate_is_refused(issuer, browser, documents, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    assert "could not be read" in error_page(cimd_flow(issuer, browser, documents.url).authorize())


def test_a_failing_url_is_not_fetched_again_within_the_retry_interval(issuer, browser, documents):
    from provider.oidc import metadata_documents

    documents.body = b"not json"
    flow = cimd_flow(issuer, browser, documents.url)
    for _ in range(3):
        assert "did not serve JSON" in error_page(flow.authorize())
        token_refused(issuer, documents.url)
    assert documents.hits == 1
    documents.body = None  # fixed
    documents.clock.advance(metadata_documents.RETRY_INTERVAL)
    assert is_login_page(flow.authorize())
    assert documents.hits == 2


def test_off_unless_turned_on(issuer, browser, documents, settings):
    settings.SIGNET_CIMD = False
    flow = cimd_flow(issuer, browser, documents.url)
    assert "Invalid client_id" in error_page(flow.authorize())
    token_refused(issuer, documents.url)
    assert documents.hits == 0
    assert (
        "client_id_metadata_document_supported"
        not in requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    )
    settings.SIGNET_CIMD = True
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["client_id_metadata_document_supported"] is True


def test_a_client_registered_while_on_is_refused_once_turned_off(issuer, browser, user, documents, settings):
    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    settings.SIGNET_CIMD = False
    assert "not accepted here" in error_page(flow.authorize())
    token_refused(issuer, documents.url)


# --- cached, refreshed, disabled ------------------------------------------------------------------------
def test_the_document_is_kept_for_its_max_age(issuer, browser, documents):
    documents.cache_control = "public, max-age=120"
    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    documents.clock.advance(119)
    assert is_login_page(flow.authorize())
    # At /token too: a made-up code, but a client known without a fetch.
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": documents.url,
            "redirect_uri": REDIRECT,
        },
        timeout=10,
    )
    assert response.json()["error"] == "invalid_grant"
    assert documents.hits == 1
    documents.clock.advance(2)
    assert is_login_page(flow.authorize())
    assert documents.hits == 2


@pytest.mark.parametrize(
    ("cache_control", "seconds"),
    [
        ("max-age=5", 60),  # MIN_CACHE_SECONDS
        ("no-store", 60),
        ("max-age=99999999", 24 * 60 * 60),  # MAX_CACHE_SECONDS
        ("", 300),  # DEFAULT_CACHE_SECONDS
    ],
)
def test_max_age_is_kept_within_bounds(documents, cache_control, seconds):
    from provider.oidc import metadata_documents

    documents.cache_control = cache_control
    client = metadata_documents.client_for(documents.url)
    assert client.cimd_expires_at == documents.clock.now + timedelta(seconds=seconds)


def test_a_changed_document_is_followed_once_expired(issuer, browser, user, documents):
    from provider.audit.models import AuditEvent

    documents.cache_control = "max-age=600"
    old = cimd_flow(issuer, browser, documents.url)
    assert "code" in old.sign_in()
    moved = "https://app.example.com/new-callback"
    documents.jwks = document(documents.url, redirect_uris=[moved], client_name="Renamed")
    new = cimd_flow(issuer, browser, documents.url, redirect_uri=moved)
    # Within max-age the client is as first fetched.
    assert "Mismatching redirect URI" in error_page(new.authorize())
    assert documents.hits == 1

    documents.clock.advance(601)
    assert "code" in new.sign_in()
    assert "Mismatching redirect URI" in error_page(old.authorize())
    assert documents.hits == 2
    assert cimd_client(documents.url).name == "Renamed"
    changed = AuditEvent.objects.filter(event="client.metadata_fetched").order_by("id").last()
    assert set(changed.data["changed"]) >= {"redirect_uris", "name"}

    # Fetched again unchanged: no audit row.
    documents.clock.advance(601)
    assert is_consent_page(new.authorize())
    assert documents.hits == 3
    assert AuditEvent.objects.filter(event="client.metadata_fetched").count() == 2


def test_a_document_cannot_turn_its_client_into_another_kind(issuer, browser, documents):
    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    documents.jwks = document(
        documents.url, token_endpoint_auth_method="private_key_jwt", jwks_uri="https://app.example.com/jwks"
    )
    documents.clock.advance(3601)
    assert "operator must delete the client" in error_page(flow.authorize())
    assert cimd_client(documents.url).client_type == "public"


def test_a_disabled_client_stays_refused_while_its_document_is_served(issuer, browser, documents):
    from provider.oidc.services import client_set_active

    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    client_set_active(client=cimd_client(documents.url), active=False)
    assert "Invalid client_id" in error_page(flow.authorize())
    documents.clock.advance(3601)  # expired: still not fetched, still refused
    assert "Invalid client_id" in error_page(flow.authorize())
    token_refused(issuer, documents.url)
    assert documents.hits == 1
    assert cimd_client(documents.url).is_active is False


def test_a_known_client_outlives_a_brief_outage_of_its_document(issuer, browser, documents):
    from provider.audit.models import AuditEvent
    from provider.oidc import metadata_documents

    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    documents.status = 503
    documents.clock.advance(3601)
    assert is_login_page(flow.authorize())  # past max-age, the document down: kept as it was
    documents.clock.advance(metadata_documents.MAX_STALE_SECONDS)
    assert "answered 503" in error_page(flow.authorize())
    # A known client's document failing is worth a row for its operator.
    assert AuditEvent.objects.filter(event="client.metadata_refused", client_id=documents.url).exists()


def test_a_known_client_is_not_kept_when_its_url_is_no_longer_allowed(issuer, browser, documents, settings):
    flow = cimd_flow(issuer, browser, documents.url)
    assert is_login_page(flow.authorize())
    settings.SIGNET_CIMD_ALLOW_PRIVATE = False
    documents.clock.advance(3601)
    # An outage would keep the client as last fetched; a private address is the operator's rule.
    assert "private, loopback or link-local" in error_page(flow.authorize())


def test_the_admin_shows_document_clients(documents, admin_client):
    from provider.oidc import metadata_documents

    metadata_documents.client_for(documents.url)
    page = admin_client.get("/admin/oidc/client/")
    assert page.status_code == 200
    assert "metadata document" in page.content.decode()


# --- hostile input ------------------------------------------------------------------------------------
def _escaped(client_id):
    return quote(client_id, safe="").encode("utf-8", "surrogatepass")


# Sent as exact bytes (tests/support/raw_http.py): the last ones carry what an HTTP library would
# repair or refuse (a bad escape, invalid UTF-8, a raw NUL).
HOSTILE_CLIENT_IDS = [
    _escaped("https://"),
    _escaped("https:///client.json"),
    _escaped("https://[::1/client.json"),
    _escaped("https://localhost:0/client.json"),
    _escaped("https://xn--/client.json"),
    _escaped("https://-.invalid/client.json"),
    _escaped("https://" + "a" * 64 + ".invalid/client.json"),
    _escaped("https://localhost/\x00"),
    _escaped("https://localhost/%00"),
    _escaped("HTTPS://LOCALHOST/client.json"),
    _escaped("https://localhost/" + "\u202e" * 10),
    _escaped("http://"),
    _escaped("https://localhost/client.json?" + "q" * 2000),
    b"https%3A%2F%2Flocalhost%2F%FF%FE.json",
    b"https%3A%2F%2Flocalhost%2F%ED%A0%80.json",
    b"https%3A%2F%2Flocalhost%2F%zz",
    b"https://localhost/\xff.json",
]


@pytest.mark.parametrize("client_id", HOSTILE_CLIENT_IDS)
def test_hostile_client_ids_never_500(issuer, documents, settings, client_id):
    settings.SIGNET_CIMD_ALLOW_PRIVATE = False
    redirect = _escaped(REDIRECT)
    target = (
        b"/authorize?response_type=code&scope=openid&redirect_uri=" + redirect + b"&client_id=" + client_id
    )
    response = send(issuer, "GET", target)
    assert response.status_code == 400 and "Location" not in response.headers
    form = [("Content-Type", b"application/x-www-form-urlencoded")]
    for endpoint in ("/token", "/revoke", "/device/authorize"):
        body = b"grant_type=authorization_code&client_id=" + client_id
        response = send(issuer, "POST", endpoint.encode(), headers=form, body=body)
        assert response.status_code in (400, 401), (endpoint, response.status_code)


def test_hostile_documents_never_500(issuer, browser, documents):
    for body in (
        json.dumps({"client_id": documents.url, "redirect_uris": [{"a": 1}]}),
        json.dumps({"client_id": documents.url, "redirect_uris": [REDIRECT], "client_name": ["x"]}),
        json.dumps({"client_id": documents.url, "redirect_uris": [REDIRECT], "jwks": "x"}),
        json.dumps({"client_id": documents.url, "redirect_uris": [REDIRECT], "scope": 7}),
        json.dumps({"client_id": documents.url, "redirect_uris": [REDIRECT], "grant_types": "x"}),
        json.dumps({"client_id": documents.url, "redirect_uris": [REDIRECT], "scope": "openid admin"}),
        json.dumps({"client_id": [documents.url]}),
        '{"client_id": "\\ud800"}',
        "\xff\xfe",
        "null",
    ):
        from provider.oidc import metadata_documents

        metadata_documents.clear()
        documents.body = body.encode("utf-8", "surrogatepass")
        error_page(cimd_flow(issuer, browser, documents.url).authorize())
        assert cimd_client(documents.url) is None


def test_client_id_url_rules():
    from provider.oidc.metadata_documents import names_document, url_problem

    assert url_problem("https://app.example.com/client.json") is None
    assert url_problem("https://app.example.com:8443/oauth/client?v=2") is None
    assert names_document("https://app.example.com/c") and names_document("HTTP://x/c")
    assert not names_document("my-client") and not names_document(None) and not names_document("urn:x")
