"""sample_api/verified.py: a token verified once skips the signature, and nothing else, next time."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from sample_api.jwks import UnknownKey, VerificationKey
from sample_api.tokens import InvalidToken
from sample_api.verified import VerifiedTokens

ISSUER = "https://signet.example"
AUDIENCE = "https://api.example"
T = 2_000_000_000


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


PRIVATE = _key()
OTHER = _key()


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token(private=PRIVATE, kid="k1", **overrides):
    claims = {
        "iss": ISSUER,
        "sub": "user",
        "aud": AUDIENCE,
        "client_id": "client",
        "iat": T,
        "exp": T + 600,
        "jti": "jti-" + str(overrides.pop("n", 0)),
        "scope": "profile",
        **overrides,
    }
    header = {"alg": "RS256", "kid": kid, "typ": "at+jwt"}
    signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(claims).encode())
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode()


class Keys:
    """A key source holding VerificationKeys by kid, as jwks.JWKSClient does."""

    def __init__(self):
        self.by_kid = {"k1": VerificationKey(kid="k1", alg="RS256", key=PRIVATE.public_key())}

    def signing_key(self, kid):
        try:
            return self.by_kid[kid]
        except KeyError:
            raise UnknownKey(kid) from None


@pytest.fixture
def keys():
    return Keys()


@pytest.fixture
def signature_checks(monkeypatch):
    """Every RSA signature check PyJWT makes, whichever algorithm object makes it."""
    calls = []
    real = RSAAlgorithm.verify

    def counting(self, *args):
        calls.append(args)
        return real(self, *args)

    monkeypatch.setattr(RSAAlgorithm, "verify", counting)
    return calls


def verify(cache, keys, tok, now=T + 1, **kw):
    expectations = {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["RS256"], "leeway": 30, **kw}
    return cache.access_token_verify(tok, keys=keys, now=now, **expectations)


def test_a_token_seen_before_is_not_checked_again(keys, signature_checks):
    cache = VerifiedTokens(16)
    tok = token()
    first = verify(cache, keys, tok)
    second = verify(cache, keys, tok)
    assert first == second and second["sub"] == "user"
    assert len(signature_checks) == 1


def test_callers_get_copies(keys):
    cache = VerifiedTokens(16)
    tok = token()
    verify(cache, keys, tok)["sub"] = "changed by the request that verified it"
    verify(cache, keys, tok)["sub"] = "changed by a request that found it here"
    assert verify(cache, keys, tok)["sub"] == "user"


def test_a_remembered_token_still_expires_with_the_leeway(keys):
    cache = VerifiedTokens(16)
    tok = token()
    verify(cache, keys, tok)
    assert verify(cache, keys, tok, now=T + 600 + 29)
    with pytest.raises(InvalidToken, match="expired"):
        verify(cache, keys, tok, now=T + 600 + 30)
    assert len(cache) == 0


def test_a_key_no_longer_published_ends_its_remembered_tokens(keys):
    cache = VerifiedTokens(16)
    tok = token()
    verify(cache, keys, tok)
    del keys.by_kid["k1"]  # rotated out or revoked, as the JWKS now says
    with pytest.raises(InvalidToken, match="unknown key"):
        verify(cache, keys, tok)


def test_another_key_under_the_same_kid_verifies_again(keys, signature_checks):
    cache = VerifiedTokens(16)
    tok = token()
    verify(cache, keys, tok)
    keys.by_kid["k1"] = VerificationKey(kid="k1", alg="RS256", key=OTHER.public_key())
    with pytest.raises(InvalidToken, match="signature"):
        verify(cache, keys, tok)
    assert len(signature_checks) == 2


def test_other_expectations_do_not_reuse_a_verification(keys):
    cache = VerifiedTokens(16)
    tok = token()
    verify(cache, keys, tok)
    with pytest.raises(InvalidToken, match="audience"):
        verify(cache, keys, tok, audience="https://another-api.example")


def test_tokens_that_fail_are_not_kept(keys):
    cache = VerifiedTokens(16)
    for bad in (token(private=OTHER), token(aud="https://elsewhere"), token(exp=T - 100), "not.a.token"):
        with pytest.raises(InvalidToken):
            verify(cache, keys, bad)
    assert len(cache) == 0


def test_at_most_size_tokens_the_least_recently_used_leaving_first(keys, signature_checks):
    cache = VerifiedTokens(2)
    a, b, c = (token(n=n) for n in range(3))
    verify(cache, keys, a)
    verify(cache, keys, b)
    verify(cache, keys, a)  # a is now the most recently used
    verify(cache, keys, c)  # b leaves
    assert len(cache) == 2
    checked = len(signature_checks)
    verify(cache, keys, a)
    assert len(signature_checks) == checked
    verify(cache, keys, b)
    assert len(signature_checks) == checked + 1


def test_size_zero_verifies_every_time(keys, signature_checks):
    cache = VerifiedTokens(0)
    tok = token()
    verify(cache, keys, tok)
    verify(cache, keys, tok)
    assert len(signature_checks) == 2 and len(cache) == 0
