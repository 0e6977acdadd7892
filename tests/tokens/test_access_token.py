"""RFC 9068 JWT access tokens: header, claims, lifetimes, identity claims, opaque refresh tokens."""

import hashlib
import time

import pytest
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from tests.tokens.conftest import API, decode, exchange, jwks_key, mint_code, refresh, unverified

pytestmark = pytest.mark.django_db(transaction=True)


def test_access_token_header_and_claims(issuer, signed_in, user):
    from provider.oidc.models import TokenFamily

    client, _secret, body = signed_in
    import jwt

    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    assert jwks_key(issuer, body["access_token"]) is not None
    claims = decode(issuer, body["access_token"], audience=API)
    assert claims["iss"] == issuer
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == API
    assert claims["client_id"] == client.client_id
    assert claims["scope"] == "openid profile email offline_access"
    assert claims["exp"] - claims["iat"] == 600 == body["expires_in"]
    assert len(claims["jti"]) >= 16
    # The sign-in's auth_time (mint_code: 5 s before the code), not the moment of issue: compared with
    # what the grant stored and with iat, never with a clock still running.
    assert claims["auth_time"] == TokenFamily.objects.get(family=claims["grant_id"]).auth_time
    assert claims["auth_time"] <= claims["iat"] - 5
    # No identity claims unless the client is configured for them.
    assert not {"email", "given_name", "family_name"} & set(claims)


def test_access_tokens_are_not_stored_and_refresh_tokens_only_as_checksums(issuer, signed_in):
    """Issue 15, decision 2: self-contained access tokens, no row per token; RFC 9700 storage for
    refresh tokens (the checksum finds the row, the value is nowhere in the database)."""
    from provider.oidc.models import TokenFamily

    _client, _secret, body = signed_in
    assert get_access_token_model().objects.count() == 0
    assert get_id_token_model().objects.count() == 0
    assert body["refresh_token"].count(".") == 0 and len(body["refresh_token"]) >= 30
    rt = get_refresh_token_model().objects.get(
        token_checksum=hashlib.sha256(body["refresh_token"].encode()).hexdigest()
    )
    assert rt.token == "" and rt.access_token_id is None
    claims = unverified(body["access_token"])
    grant = TokenFamily.objects.get(family=claims["grant_id"])
    assert rt.token_family == grant.family and claims["refresh_id"] == rt.pk
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 32


def test_per_client_access_lifetime_agrees_in_response_and_jwt(issuer, rp_client, user):
    client, secret = rp_client
    client.access_token_lifetime = 120
    client.save()
    code, verifier = mint_code(client, user)
    before = int(time.time())
    body = exchange(issuer, client, secret, code, verifier).json()
    after = time.time()
    claims = decode(issuer, body["access_token"], audience=API)
    assert body["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120
    assert before <= claims["iat"] <= after  # issued during the request, however long it took
    # A refreshed token gets the client's lifetime too.
    again = refresh(issuer, client, secret, body["refresh_token"]).json()
    claims = decode(issuer, again["access_token"], audience=API)
    assert again["expires_in"] == 120 == claims["exp"] - claims["iat"]


def test_identity_claims_only_when_configured_and_scope_granted(issuer, rp_client, user):
    client, secret = rp_client
    client.identity_claims_in_access_token = True
    client.save()
    code, verifier = mint_code(client, user, scope="openid profile email")
    claims = decode(
        issuer, exchange(issuer, client, secret, code, verifier).json()["access_token"], audience=API
    )
    assert claims["email"] == "alice@example.com"
    assert claims["given_name"] == "Alice" and claims["family_name"] == "Liddell"

    code, verifier = mint_code(client, user, scope="openid email")
    claims = decode(
        issuer, exchange(issuer, client, secret, code, verifier).json()["access_token"], audience=API
    )
    assert claims["email"] == "alice@example.com"
    assert "given_name" not in claims and "family_name" not in claims

    code, verifier = mint_code(client, user, scope="openid")
    claims = decode(
        issuer, exchange(issuer, client, secret, code, verifier).json()["access_token"], audience=API
    )
    assert not {"email", "given_name", "family_name"} & set(claims)


def test_per_client_id_token_lifetime(issuer, rp_client, user):
    client, secret = rp_client
    client.id_token_lifetime = 90
    client.save()
    code, verifier = mint_code(client, user)
    body = exchange(issuer, client, secret, code, verifier).json()
    id_claims = decode(issuer, body["id_token"], audience=client.client_id)
    assert abs(id_claims["exp"] - id_claims["iat"] - 90) <= 1
