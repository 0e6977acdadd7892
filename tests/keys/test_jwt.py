"""keys/jwt.py: signing with the active key, verifying by kid, and refusing everything else."""

import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest
from jwcrypto.common import base64url_decode, base64url_encode

from keys import jwt, selectors, services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ring")]


def claims():
    now = int(time.time())
    return {"iss": "https://op.example.com", "sub": "u1", "iat": now, "exp": now + 60}


def jwks_key(kid):
    return next(pyjwt.PyJWK(k).key for k in selectors.jwks_document()["keys"] if k["kid"] == kid)


def forge(header, payload, signature=b"sig"):
    enc = [base64url_encode(json.dumps(x).encode()) for x in (header, payload)]
    return ".".join([*enc, base64url_encode(signature)])


def test_signed_tokens_carry_the_active_kid_and_verify_with_an_independent_library():
    token = jwt.sign(claims(), typ="at+jwt")
    header = pyjwt.get_unverified_header(token)
    active = selectors.active_signing_key()
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": active.kid}
    assert pyjwt.decode(token, jwks_key(active.kid), algorithms=["RS256"])["sub"] == "u1"
    assert jwt.verify(token) == pyjwt.decode(token, options={"verify_signature": False})


def test_a_token_signed_before_a_rotation_still_verifies():
    token = jwt.sign(claims())
    services.key_rotate()
    selectors.invalidate()
    assert jwt.verify(token)["sub"] == "u1"
    assert pyjwt.get_unverified_header(jwt.sign(claims()))["kid"] != pyjwt.get_unverified_header(token)["kid"]


def test_a_token_of_a_revoked_key_no_longer_verifies():
    token = jwt.sign(claims())
    services.key_revoke(kid=pyjwt.get_unverified_header(token)["kid"])
    selectors.invalidate()
    with pytest.raises(jwt.InvalidToken, match="unknown signing key"):
        jwt.verify(token)
    assert not jwt.signing_key_published(token)


def test_tampered_payload_is_refused():
    token = jwt.sign(claims())
    header, payload, signature = token.split(".")
    altered = json.loads(base64url_decode(payload))
    altered["sub"] = "admin"
    with pytest.raises(jwt.InvalidToken, match="bad signature"):
        jwt.verify(".".join([header, base64url_encode(json.dumps(altered).encode()), signature]))


def test_alg_none_and_hmac_confusion_are_refused():
    kid = selectors.active_signing_key().kid
    with pytest.raises(jwt.InvalidToken, match="unsupported alg"):
        jwt.verify(forge({"alg": "none", "kid": kid}, claims(), b""))
    # HS256 keyed with the public key (the classic confusion attack).
    public_json = json.dumps(selectors.key_by_kid(kid).public_jwk).encode()
    unsigned = forge({"alg": "HS256", "kid": kid}, claims()).rsplit(".", 1)[0]
    mac = hmac.new(public_json, unsigned.encode(), hashlib.sha256).digest()
    hs = unsigned + "." + base64url_encode(mac)
    with pytest.raises(jwt.InvalidToken, match="unsupported alg"):
        jwt.verify(hs)


@pytest.mark.parametrize(
    "token", [None, "", "abc", "a.b", "a.b.c", "....", "x" * 20000, 12, "eyJhbGciOiJSUzI1NiJ9.e30.AA"]
)
def test_malformed_tokens_are_refused_with_invalid_token(token):
    with pytest.raises(jwt.InvalidToken):
        jwt.verify(token)
    assert jwt.signing_key_published(token) is False


def test_unknown_kid_is_refused():
    with pytest.raises(jwt.InvalidToken, match="unknown signing key"):
        jwt.verify(forge({"alg": "RS256", "kid": "nobody"}, claims()))


def test_claims_must_be_an_object():
    key = selectors.active_signing_key()
    header = {"alg": "RS256", "kid": key.kid}
    token = pyjwt.api_jws.encode(b"[1, 2]", key.signer, algorithm="RS256", headers=header)
    with pytest.raises(jwt.InvalidToken, match="not an object"):
        jwt.verify(token)


def test_signing_key_published_checks_only_the_kid():
    token = jwt.sign(claims())
    assert jwt.signing_key_published(token)
    assert not jwt.signing_key_published(forge({"alg": "RS256", "kid": "nobody"}, claims()))
