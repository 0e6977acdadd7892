"""DESIGN.md's cost claim: a private key is decrypted and parsed once per process per key, never per
request. Counted, not timed: every decryption and parse goes through keys/crypto.py, which we count."""

import time
from collections import Counter

import pytest
import requests

from keys import crypto, jwt, selectors, services
from provider.oidc.services import client_create
from tests.keys.conftest import RELOAD_EVERY_CALL
from tests.keys.http import API, sign_in


@pytest.fixture
def counted(monkeypatch):
    """Count decryptions, private-key parses and public-key parses."""
    calls = Counter()
    for name in ("decrypt_private_key", "signer_for", "public_jwk_object"):
        original = getattr(crypto, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(crypto, name, wrapper)
    return calls


def claims():
    return {"sub": "s", "iat": int(time.time()), "exp": int(time.time()) + 60}


@pytest.mark.django_db
@pytest.mark.usefixtures("ring")
def test_signing_and_verifying_many_tokens_decrypts_and_parses_once(counted, preset):
    preset(RELOAD_EVERY_CALL)  # even when every call re-checks the ring's version
    tokens = [jwt.sign(claims()) for _ in range(50)]
    for token in tokens:
        jwt.verify(token)
    assert counted == Counter(decrypt_private_key=1, signer_for=1, public_jwk_object=1)


@pytest.mark.django_db
@pytest.mark.usefixtures("ring")
def test_a_rotation_costs_one_decryption_of_the_new_key_only(counted, preset):
    preset(RELOAD_EVERY_CALL)
    old_token = jwt.sign(claims())
    jwt.verify(old_token)
    services.key_rotate()  # elsewhere: this process notices through the version stamp
    assert counted["decrypt_private_key"] == 2  # the rotation checks the key it promotes opens
    for _ in range(20):
        jwt.verify(old_token)  # the retired key's parsed public key survived the reload
        jwt.verify(jwt.sign(claims()))
    assert counted == Counter(decrypt_private_key=3, signer_for=2, public_jwk_object=2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("ring")
def test_over_http_tokens_and_jwks_never_decrypt_per_request(counted, issuer, browser, user, rp_client):
    service, secret = client_create(
        name="Service", client_type="confidential", grant="client-credentials", audiences=[API]
    )

    def client_credentials():
        response = requests.post(
            f"{issuer}/token",
            data={"grant_type": "client_credentials"},
            auth=(service.client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text

    for _ in range(3):
        assert requests.get(f"{issuer}/jwks", timeout=10).status_code == 200
    # A key is published only once its private half opened and matched: once per key, not per request.
    assert counted["decrypt_private_key"] == 2  # the active and the next key
    for _ in range(5):
        client_credentials()
    sign_in(issuer, browser, user, rp_client)  # an ID token, signed by DOT through jwcrypto
    sign_in(issuer, browser, user, rp_client)
    assert counted["decrypt_private_key"] == 2 and counted["signer_for"] == 1
    selectors.invalidate()  # a version check that finds nothing new keeps the material
    client_credentials()
    assert counted["decrypt_private_key"] == 2
