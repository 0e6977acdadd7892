"""Access tokens verified once per process (provider/oidc/access_tokens.py): the signature is not
checked again, but the key's standing, the issuer and (in active_access_token) the grant still are."""

import secrets
import time

import pytest
from django.conf import settings

from keys import jwt, selectors, services
from provider.oidc import access_tokens

pytestmark = pytest.mark.django_db


def token(**extra):
    now = int(time.time())
    claims = {
        "iss": settings.OIDC_ISSUER,
        "sub": "a-client",
        "client_id": "a-client",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_hex(16),
        **extra,
    }
    return jwt.sign(claims, typ="at+jwt")


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(access_tokens, "_verified", {})
    services.key_ensure_active()


def test_a_token_is_verified_once_then_its_key_is_still_checked(monkeypatch):
    presented = token()
    verified = []
    real_verify = jwt.verify
    monkeypatch.setattr(jwt, "verify", lambda t, **kw: verified.append(t) or real_verify(t, **kw))
    first = access_tokens.verified_claims(presented)
    assert first is not None and first["jti"]
    assert access_tokens.verified_claims(presented) == first
    assert verified == [presented]  # the second presentation checked no signature

    services.key_revoke(kid=jwt.unverified_header(presented)["kid"])
    selectors.invalidate()
    assert access_tokens.verified_claims(presented) is None  # the kept token dies with its key


def test_a_kept_token_is_refused_under_another_issuer(settings):
    presented = token()
    assert access_tokens.verified_claims(presented) is not None
    settings.OIDC_ISSUER = "https://elsewhere.example"
    assert access_tokens.verified_claims(presented) is None


def test_only_verified_tokens_are_kept_and_the_oldest_go_first(monkeypatch):
    monkeypatch.setattr(access_tokens, "VERIFIED_KEPT", 3)
    forged = token()[:-4] + "AAAA"
    assert access_tokens.verified_claims(forged) is None
    assert forged not in access_tokens._verified
    tokens = [token() for _ in range(5)]
    for t in tokens:
        assert access_tokens.verified_claims(t) is not None
    assert list(access_tokens._verified) == tokens[2:]
