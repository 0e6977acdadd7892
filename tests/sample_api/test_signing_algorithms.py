"""The sample API (a separate process, PyJWT) accepts the provider's ES256 and EdDSA tokens, and only
algorithms the provider's discovery advertises: never HS256, never one the provider dropped (issue 19)."""

import jwt
import pytest

from keys import selectors, services
from provider.oidc.services import client_create
from tests.sample_api.conftest import AUDIENCE
from tests.sample_api.tokens import (
    access_claims,
    client_credentials_token,
    hs256_with_public_key,
    provider_jwks,
)

pytestmark = pytest.mark.django_db(transaction=True)


def configure(settings, *algs):
    settings.SIGNET_SIGNING_ALGS = algs
    services.key_maintain()  # keys for every configured alg; a dropped alg's keys withdrawn
    selectors.invalidate()


def token_signed_with(issuer, alg):
    client, secret = client_create(
        name=f"{alg} caller",
        client_type="confidential",
        grant="client-credentials",
        audiences=[AUDIENCE],
        id_token_signing_alg=alg,
    )
    token = client_credentials_token(issuer, client, secret)
    assert jwt.get_unverified_header(token)["alg"] == alg
    return token


def assert_invalid_token(response):
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_es256_and_eddsa_tokens_are_accepted_and_hs256_is_not(settings, issuer, sample_api_factory):
    configure(settings, "RS256", "ES256", "EdDSA")
    tokens = {alg: token_signed_with(issuer, alg) for alg in ("RS256", "ES256", "EdDSA")}
    api = sample_api_factory(RESOURCE_JWKS_COOLDOWN=0)
    for alg, token in tokens.items():
        response = api.get("/hello/", token)
        assert response.status_code == 200, (alg, response.text)
    # HMAC keyed with the ES256 key's public half (algorithm confusion): refused before any key use.
    es256_key = next(k for k in provider_jwks(issuer)["keys"] if k["alg"] == "ES256")
    forged = hs256_with_public_key(access_claims(issuer, AUDIENCE), es256_key["kid"], es256_key)
    assert_invalid_token(api.get("/hello/", forged))


def test_an_algorithm_the_provider_no_longer_advertises_is_refused(settings, issuer, sample_api_factory):
    configure(settings, "RS256", "ES256", "EdDSA")
    eddsa = token_signed_with(issuer, "EdDSA")
    es256 = token_signed_with(issuer, "ES256")
    configure(settings, "RS256", "ES256")
    # The EdDSA key that signed it is retired but still in the JWKS: only the pin to discovery refuses it.
    assert "EdDSA" in {k["alg"] for k in provider_jwks(issuer)["keys"]}
    api = sample_api_factory(RESOURCE_JWKS_COOLDOWN=0)
    assert_invalid_token(api.get("/hello/", eddsa))
    assert api.get("/hello/", es256).status_code == 200


def test_the_apis_own_list_narrows_what_the_provider_advertises(settings, issuer, sample_api_factory):
    configure(settings, "RS256", "ES256")
    api = sample_api_factory(RESOURCE_JWKS_COOLDOWN=0, RESOURCE_ALGORITHMS="RS256")
    assert_invalid_token(api.get("/hello/", token_signed_with(issuer, "ES256")))
    assert api.get("/hello/", token_signed_with(issuer, "RS256")).status_code == 200
