"""Client authentication at /token: client_secret_basic, client_secret_post, none (public + PKCE)."""

import base64

import pytest
import requests

from provider.oidc import client_authentication as client_auth
from tests.conftest import REDIRECT_URI
from tests.support.values import altered
from tests.tokens.conftest import exchange, mint_code, token

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_secret_basic(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    assert exchange(issuer, client, secret, code, verifier).status_code == 200


def test_client_secret_basic_form_urlencodes_both_parts(issuer, make_client, user):
    client, secret = make_client(client_id="rp:with/odd id", secret="s3cret+with:colon&plus " + "x" * 20)
    code, verifier = mint_code(client, user)
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client.client_id)}:{quote_plus(secret)}".encode()
    response = token(
        issuer,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert response.status_code == 200, response.text


def test_client_secret_post(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    response = token(
        issuer,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    assert response.status_code == 200, response.text


def test_public_client_authenticates_with_none_and_pkce(issuer, make_client, user):
    client, secret = make_client(client_type="public")
    assert secret is None
    code, verifier = mint_code(client, user)
    ok = exchange(issuer, client, None, code, verifier, client_id=client.client_id)
    assert ok.status_code == 200, ok.text
    # A public client cannot pretend to have a secret.
    code, verifier = mint_code(client, user)
    bad = exchange(issuer, client, None, code, verifier, client_id=client.client_id, client_secret="x" * 40)
    assert bad.status_code == 401


def test_confidential_client_without_credentials_is_refused(issuer, rp_client, user):
    client, _secret = rp_client
    code, verifier = mint_code(client, user)
    response = exchange(issuer, client, None, code, verifier, client_id=client.client_id)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def _failure(response):
    return (
        response.status_code,
        response.json(),
        response.headers.get("WWW-Authenticate"),
        response.headers.get("Content-Type"),
        response.headers.get("Cache-Control"),
    )


def test_wrong_secret_and_unknown_client_fail_identically(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    wrong = exchange(issuer, client, altered(secret), code, verifier)
    unknown = token(
        issuer,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=("no-such-client", secret),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic ")
    assert _failure(wrong) == _failure(unknown)
    # The code was not consumed by the failed attempts.
    assert exchange(issuer, client, secret, code, verifier).status_code == 200


def test_two_authentication_methods_at_once_are_refused(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    response = exchange(
        issuer, client, secret, code, verifier, client_id=client.client_id, client_secret=secret
    )
    assert response.status_code == 401


def test_unknown_client_costs_the_same_hash_as_a_wrong_secret(rp_client, monkeypatch):
    """Same work for both: one hash of the presented secret and one constant-time comparison."""
    client, secret = rp_client
    from provider.oidc.hashers import ClientSecretHasher

    calls = []
    original = ClientSecretHasher.encode

    def counting(self, password, salt):
        calls.append(password)
        return original(self, password, salt)

    client_auth._dummy_hash()  # built once per process, before the timed path
    monkeypatch.setattr(ClientSecretHasher, "encode", counting)
    assert client_auth.stored_secret_matches("guess" * 10, client.client_secret) is False
    wrong = list(calls)
    calls.clear()
    assert client_auth.stored_secret_matches("guess" * 10, None) is False
    assert len(calls) == len(wrong) == 1
    calls.clear()
    assert client_auth.stored_secret_matches(secret, client.client_secret) is True


def test_presented_credentials_parsing():
    basic = "Basic " + base64.b64encode(b"abc:s%3Acret").decode()
    assert client_auth.presented_credentials(
        authorization=basic, body_client_id=None, body_client_secret=None
    ) == (
        "abc",
        "s:cret",
        client_auth.BASIC,
    )
    assert client_auth.presented_credentials(
        authorization=basic, body_client_id="abc", body_client_secret=None
    )
    assert not client_auth.presented_credentials(
        authorization=basic, body_client_id="xyz", body_client_secret=None
    )
    assert not client_auth.presented_credentials(
        authorization="Basic !!!", body_client_id=None, body_client_secret=None
    )
    assert not client_auth.presented_credentials(
        authorization=None, body_client_id="abc", body_client_secret=None
    )
    assert client_auth.presented_credentials(
        authorization=None, body_client_id="a", body_client_secret="b"
    ) == (
        "a",
        "b",
        client_auth.POST,
    )


def test_secrets_are_stored_hashed_with_the_fast_hasher(rp_client):
    client, secret = rp_client
    assert client.client_secret.startswith("signet_sha256$")
    assert secret not in client.client_secret


def test_nul_bytes_in_client_ids_and_codes_are_refused_not_errors(issuer, rp_client, user):
    """PostgreSQL raises on NUL in a text parameter: such values must never reach a query."""
    client, secret = rp_client
    code, verifier = mint_code(client, user)
    bad_code = exchange(issuer, client, secret, code + "\x00", verifier)
    assert bad_code.status_code == 400 and bad_code.json()["error"] == "invalid_grant"
    for client_id in ("\x00", "a\x00b"):
        via_post = token(
            issuer, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x" * 40}
        )
        via_basic = token(issuer, {"grant_type": "client_credentials"}, auth=(client_id, "x" * 40))
        via_introspect = requests.post(
            f"{issuer}/introspect", data={"token": "t"}, auth=(client_id, "x" * 40), timeout=10
        )
        assert via_post.status_code == via_basic.status_code == via_introspect.status_code == 401
    assert exchange(issuer, client, secret, code, verifier).status_code == 200
