"""ES256 and EdDSA keys in the key ring (issue 19): generation, at-rest storage, signatures in the
JOSE forms (checked by PyJWT, an independent implementation), and one active key per algorithm."""

import base64
import hashlib
import json

import jwt as pyjwt
import pytest
from django.db import IntegrityError, transaction
from jwcrypto.common import base64url_encode

from keys import crypto, jwt, selectors, services
from keys.models import SigningKey

pytestmark = pytest.mark.django_db
State = SigningKey.State
SIGNING_INPUT = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"


@pytest.fixture
def all_algs(settings):
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256", "EdDSA")
    services.key_ensure_active()
    selectors.invalidate()


def b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize(
    ("alg", "members", "canonical"),
    [
        ("ES256", {"kty", "kid", "use", "alg", "crv", "x", "y"}, ("crv", "kty", "x", "y")),
        ("EdDSA", {"kty", "kid", "use", "alg", "crv", "x"}, ("crv", "kty", "x")),
    ],
)
def test_generated_keys_have_public_members_only_and_an_rfc7638_kid(alg, members, canonical):
    kid, public, private, size = crypto.generate_key(alg)
    assert set(public) == members and public["alg"] == alg and public["use"] == "sig"
    assert size == 256
    # RFC 7638 3.2 (EC) and RFC 8037 2 (OKP): the required members, in lexicographic order.
    thumbprint_input = json.dumps({m: public[m] for m in canonical}, separators=(",", ":"))
    assert kid == base64url_encode(hashlib.sha256(thumbprint_input.encode()).digest())
    assert "d" in private.export_private(as_dict=True)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_signatures_are_jose_signatures_an_independent_library_verifies(alg):
    _kid, public, private, _size = crypto.generate_key(alg)
    signature = crypto.sign(alg, crypto.signer_for(private), SIGNING_INPUT)
    if alg == "ES256":
        assert len(signature) == 64  # RFC 7518 3.4: R || S, not DER
    algorithm = pyjwt.get_algorithm_by_name(alg)
    assert algorithm.verify(SIGNING_INPUT, pyjwt.PyJWK(public).key, signature)
    verifier = crypto.verifier_for(crypto.public_jwk_object(public))
    assert crypto.verify(alg, verifier, SIGNING_INPUT, signature)
    assert not crypto.verify(alg, verifier, SIGNING_INPUT + b"x", signature)
    assert not crypto.verify(alg, verifier, SIGNING_INPUT, signature[:-1])  # a truncated signature


def test_es256_refuses_a_der_signature_and_an_rsa_verifier_refuses_es256():
    _kid, public, private, _size = crypto.generate_key("ES256")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    der = crypto.signer_for(private).sign(SIGNING_INPUT, ec.ECDSA(hashes.SHA256()))
    verifier = crypto.verifier_for(crypto.public_jwk_object(public))
    assert not crypto.verify("ES256", verifier, SIGNING_INPUT, der)  # only the JOSE form is a JWS signature
    raw = crypto.sign("ES256", crypto.signer_for(private), SIGNING_INPUT)
    assert not crypto.verify("EdDSA", verifier, SIGNING_INPUT, raw)  # a key of another type: no, not a 500
    assert not crypto.verify("RS256", verifier, SIGNING_INPUT, raw)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_private_keys_round_trip_encrypted_at_rest(alg):
    kid, public, private, _size = crypto.generate_key(alg)
    ciphertext = crypto.encrypt_private_key(private, kid=kid)
    assert private.export_private(as_dict=True)["d"] not in ciphertext
    assert crypto.decrypt_private_key(ciphertext, kid=kid, public_jwk=public).thumbprint() == kid
    # Another key's public half under this kid is refused (the row's public key was replaced).
    _other_kid, other_public, _p, _s = crypto.generate_key(alg)
    with pytest.raises(crypto.KeyMismatch):
        crypto.decrypt_private_key(ciphertext, kid=kid, public_jwk={**other_public, "kid": kid})


def test_every_configured_algorithm_has_its_own_active_and_next_key(all_algs):
    for alg in ("RS256", "ES256", "EdDSA"):
        states = sorted(SigningKey.objects.filter(alg=alg).values_list("state", flat=True))
        assert states == ["active", "next"]
        key = selectors.active_signing_key(alg=alg)
        assert key.alg == alg
        token = jwt.sign({"sub": alg}, alg=alg)
        assert json.loads(b64decode(token.split(".")[0]))["kid"] == key.kid
        assert jwt.verify(token) == {"sub": alg}
    jwks = selectors.jwks_document()["keys"]
    assert sorted(k["alg"] for k in jwks) == sorted(["RS256", "ES256", "EdDSA"] * 2)
    assert all("d" not in k for k in jwks)


def test_the_database_allows_one_active_key_per_algorithm(all_algs):
    nxt = SigningKey.objects.get(alg="ES256", state=State.NEXT)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.filter(pk=nxt.pk).update(state=State.ACTIVE)


def test_signing_with_an_algorithm_without_keys_is_a_clear_error(all_algs):
    SigningKey.objects.filter(alg="EdDSA").delete()
    selectors.reset_cache()
    with pytest.raises(selectors.NoActiveKey, match="EdDSA"):
        jwt.sign({"sub": "x"}, alg="EdDSA")


def test_services_refuse_an_algorithm_that_is_not_configured():
    services.key_ensure_active()
    for call in (
        lambda: services.key_rotate(alg="ES256"),
        lambda: services.key_create(alg="ES256"),
        lambda: services.key_ensure_active(alg="EdDSA"),
    ):
        with pytest.raises(ValueError, match="not in SIGNET_SIGNING_ALGS"):
            call()
    assert set(SigningKey.objects.values_list("alg", flat=True)) == {"RS256"}


def test_revoking_an_active_es256_key_replaces_it_with_a_new_es256_key(all_algs):
    active = selectors.active_signing_key(alg="ES256")
    nxt = SigningKey.objects.get(alg="ES256", state=State.NEXT)
    rs256 = selectors.active_signing_key().kid
    services.key_revoke(kid=active.kid)
    replacement = SigningKey.objects.get(alg="ES256", state=State.ACTIVE)
    assert replacement.kid not in (active.kid, nxt.kid)
    assert SigningKey.objects.get(alg="RS256", state=State.ACTIVE).kid == rs256


def test_a_read_wakes_maintenance_when_a_configured_algorithm_has_no_key(settings, maintenance_wakes):
    services.key_ensure_active()
    selectors.reset_cache()
    selectors.active_signing_key()
    assert maintenance_wakes == []
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    selectors.invalidate()
    selectors.active_signing_key()
    assert len(maintenance_wakes) == 1
