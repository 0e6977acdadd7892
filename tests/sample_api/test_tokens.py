"""sample_api/tokens.py in this process: the claim rules, with an injected clock.

Tokens are signed with the live provider's real keys and verified through its JWKS over HTTP.
"""

import base64
import hashlib

import jwt
import pytest

from sample_api.jwks import JWKSClient
from sample_api.tokens import MAX_TOKEN_LENGTH, InvalidToken, access_token_verify, id_token_verify
from tests.sample_api.tokens import access_claims, provider_signed

pytestmark = pytest.mark.django_db(transaction=True)

AUDIENCE = "https://api.example.com"
CLIENT_ID = "rp-client"
T = 2_000_000_000  # "now" for every token here


@pytest.fixture
def keys(issuer):
    return JWKSClient(issuer=issuer)


@pytest.fixture
def verify(issuer, keys):
    def verify(token, now=T, **kw):
        return access_token_verify(
            token, keys=keys, issuer=issuer, audience=AUDIENCE, algorithms=["RS256"], leeway=30, now=now, **kw
        )

    return verify


def at(issuer, **overrides):
    return provider_signed(access_claims(issuer, AUDIENCE, **{"iat": T, "exp": T + 600, **overrides}))


def test_a_valid_access_token_gives_its_claims(issuer, verify):
    claims = verify(at(issuer, scope="openid profile"))

    assert claims["iss"] == issuer and claims["aud"] == AUDIENCE and claims["scope"] == "openid profile"


def test_an_audience_list_containing_this_api_is_accepted(issuer, verify):
    assert verify(at(issuer, aud=["https://other.example", AUDIENCE]))["aud"][1] == AUDIENCE


def test_expiry_allows_the_leeway_and_no_more(issuer, verify):
    token = at(issuer)
    assert verify(token, now=T + 600 + 29)
    with pytest.raises(InvalidToken, match="expired"):
        verify(token, now=T + 600 + 30)


def test_not_before_allows_the_leeway_and_no_more(issuer, verify):
    token = at(issuer, nbf=T + 100)
    assert verify(token, now=T + 70)
    with pytest.raises(InvalidToken, match="not valid yet"):
        verify(token, now=T + 69)


def test_a_token_issued_in_the_future_is_rejected(issuer, verify):
    with pytest.raises(InvalidToken, match="future"):
        verify(at(issuer), now=T - 31)


def test_every_rfc9068_claim_is_required(issuer, verify):
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]:
        with pytest.raises(InvalidToken, match=f"lacks the {claim} claim"):
            verify(at(issuer, **{claim: None}))


def test_claims_of_the_wrong_type_are_rejected(issuer, verify):
    for claims in [{"exp": "soon"}, {"exp": True}, {"scope": ["a"]}, {"sub": 42}]:
        with pytest.raises(InvalidToken):
            verify(at(issuer, **claims))


def test_an_overlong_token_is_rejected_before_any_parsing(verify):
    with pytest.raises(InvalidToken, match="malformed"):
        verify("a." + "b" * MAX_TOKEN_LENGTH + ".c")


def test_the_token_must_use_the_algorithm_its_key_declares(issuer, keys):
    # RFC 8725 3.1: a key is used with one algorithm. The provider's keys say RS256, so an RS384
    # signature by the same key is refused even where RS384 is allowed.
    from keys.selectors import active_signing_key

    key = active_signing_key()
    token = jwt.encode(
        access_claims(issuer, AUDIENCE, iat=T, exp=T + 600),
        key.signer,
        algorithm="RS384",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )

    with pytest.raises(InvalidToken, match="does not match its key"):
        access_token_verify(
            token, keys=keys, issuer=issuer, audience=AUDIENCE, algorithms=["RS256", "RS384"], now=T
        )


def test_the_media_type_form_of_typ_is_accepted(issuer, verify):
    assert verify(
        provider_signed(access_claims(issuer, AUDIENCE, iat=T, exp=T + 600), typ="application/AT+JWT")
    )


# --- ID tokens (the sample login) ------------------------------------------------------------


def id_claims(issuer, **overrides):
    claims = {"iss": issuer, "sub": "u1", "aud": CLIENT_ID, "iat": T, "exp": T + 600, "nonce": "n-123"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def verify_id(issuer, keys):
    def verify(token, nonce="n-123", **kw):
        return id_token_verify(
            token,
            keys=keys,
            issuer=issuer,
            client_id=CLIENT_ID,
            nonce=nonce,
            algorithms=["RS256"],
            now=T,
            **kw,
        )

    return verify


def at_hash(access_token):
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_a_valid_id_token_gives_its_claims(issuer, verify_id):
    assert verify_id(provider_signed(id_claims(issuer), typ="JWT"))["sub"] == "u1"


def test_the_nonce_must_match(issuer, verify_id):
    token = provider_signed(id_claims(issuer), typ="JWT")
    with pytest.raises(InvalidToken, match="nonce"):
        verify_id(token, nonce="n-124")
    with pytest.raises(InvalidToken, match="nonce"):
        verify_id(provider_signed(id_claims(issuer, nonce=None), typ="JWT"))


def test_the_id_token_must_be_for_this_client(issuer, verify_id):
    with pytest.raises(InvalidToken, match="audience"):
        verify_id(provider_signed(id_claims(issuer, aud="another-client"), typ="JWT"))


def test_several_audiences_need_azp_naming_this_client(issuer, verify_id):
    both = ["another-client", CLIENT_ID]
    with pytest.raises(InvalidToken, match="azp"):
        verify_id(provider_signed(id_claims(issuer, aud=both), typ="JWT"))
    assert verify_id(provider_signed(id_claims(issuer, aud=both, azp=CLIENT_ID), typ="JWT"))


def test_at_hash_binds_the_access_token(issuer, verify_id):
    token = provider_signed(id_claims(issuer, at_hash=at_hash("the-access-token")), typ="JWT")

    assert verify_id(token, access_token="the-access-token")
    with pytest.raises(InvalidToken, match="at_hash"):
        verify_id(token, access_token="a-swapped-access-token")


def test_an_access_token_is_not_an_id_token(issuer, verify_id):
    with pytest.raises(InvalidToken, match="not an ID token"):
        verify_id(provider_signed(id_claims(issuer), typ="at+jwt"))


def test_an_expired_id_token_is_rejected(issuer, verify_id):
    with pytest.raises(InvalidToken, match="expired"):
        verify_id(provider_signed(id_claims(issuer, iat=T - 1000, exp=T - 31), typ="JWT"))
