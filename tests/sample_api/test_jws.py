"""sample_api/jws.py, and the header and claim rules tokens.py applies to its output.

No provider here: tokens are signed with keys made in the test, so each rule can be broken alone.
"""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sample_api import jws
from sample_api.jwks import UnknownKey, VerificationKey
from sample_api.tokens import InvalidToken, access_token_verify
from tests.sample_api.tokens import rsa_key

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
T = 2_000_000_000
RSA = rsa_key()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides):
    c = {
        "iss": ISSUER,
        "sub": "u1",
        "aud": AUDIENCE,
        "client_id": "c1",
        "iat": T,
        "exp": T + 600,
        "jti": "j1",
    }
    c.update(overrides)
    return {k: v for k, v in c.items() if v is not None}


def signed(payload=None, key=RSA, alg="RS256", **headers):
    headers = {"kid": "k1", "typ": "at+jwt", **headers}
    return jwt.encode(claims() if payload is None else payload, key, algorithm=alg, headers=headers)


def signed_bytes(payload):
    """An RS256 token over any payload bytes, even ones PyJWT would refuse to encode."""
    header = b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}).encode())
    signing_input = f"{header}.{b64(payload)}"
    signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), RSA)
    return f"{signing_input}.{b64(signature)}"


class Keys:
    """A key source with fixed keys, in place of the JWKS client."""

    def __init__(self, **keys):
        self.keys = keys

    def signing_key(self, kid):
        if kid not in self.keys:
            raise UnknownKey(kid)
        return self.keys[kid]


def verify(token, keys=None, algorithms=("RS256",)):
    keys = keys or Keys(k1=VerificationKey("k1", "RS256", RSA.public_key()))
    return access_token_verify(
        token, keys=keys, issuer=ISSUER, audience=AUDIENCE, algorithms=list(algorithms), now=T
    )


# --- parsing -----------------------------------------------------------------------------------


def test_a_token_parses_into_header_payload_and_signature():
    token = signed()
    parsed = jws.parse(token)

    assert parsed.header == {"alg": "RS256", "kid": "k1", "typ": "at+jwt"}
    assert json.loads(parsed.payload) == claims()
    assert parsed.signing_input == token.rsplit(".", 1)[0].encode()
    assert b64(parsed.signature) == token.rsplit(".", 1)[1]


def test_the_decoded_header_is_shared_read_only_and_checked_every_time():
    first, second = jws.parse(signed()), jws.parse(signed(claims(sub="u2")))

    # Tokens of one key share their header, so it is decoded once and must not be changeable.
    assert first.header is second.header
    with pytest.raises(TypeError):
        first.header["alg"] = "none"
    # Only decoding is remembered: a bad header fails again, and the signature is still checked.
    bad = b64(b"{nope") + ".e30."
    for _ in range(2):
        with pytest.raises(jws.MalformedJWS):
            jws.parse(bad)
    header, payload, signature = signed().split(".")
    forged = f"{header}.{b64(json.dumps(claims(sub='admin')).encode())}.{signature}"
    with pytest.raises(InvalidToken, match="signature does not verify"):
        verify(forged)


@pytest.mark.parametrize("segment", ["YQ==", "YQ=", "Y Q", "YQ+", "YQ/", "Y!Q", "Y", "YQé"])
def test_only_unpadded_base64url_is_accepted(segment):
    with pytest.raises(jws.MalformedJWS):
        jws.b64url_decode(segment)


@pytest.mark.parametrize("segment", ["YR", "YWJ", "YWJjZB"])
def test_a_segment_with_unused_bits_set_is_refused(segment):
    # "YR" decodes to b"a" as "YQ" does: refusing it leaves each token a single spelling.
    with pytest.raises(jws.MalformedJWS, match="canonical"):
        jws.b64url_decode(segment)


def test_a_last_character_is_accepted_exactly_when_it_is_the_canonical_spelling():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for prefix in ["Y", "YW", "YWJjY", "YWJjYW"]:  # segments of length 4n+2 and 4n+3
        for last in alphabet:
            segment = prefix + last
            canonical = b64(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))) == segment
            if canonical:
                assert b64(jws.b64url_decode(segment)) == segment
            else:
                with pytest.raises(jws.MalformedJWS):
                    jws.b64url_decode(segment)


def test_the_canonical_spellings_decode():
    assert [jws.b64url_decode(s) for s in ["", "YQ", "YWI", "YWJj", "-_8"]] == [
        b"",
        b"a",
        b"ab",
        b"abc",
        b"\xfb\xff",
    ]


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        b64(b"[1]") + ".e30.",  # header is not an object
        b64(b"{nope") + ".e30.",
        b64(b"\xff\xfe{}") + ".e30.",  # not UTF-8
        b64('{"alg":"RS256"}'.encode("utf-16")) + ".e30.",
        # Non-ASCII (a header value arrives latin-1 decoded) in each segment: refused, never a 500.
        "é" + ".e30.",
        b64(b'{"alg":"RS256"}') + ".é.",
        b64(b'{"alg":"RS256"}') + ".e30.é",
    ],
)
def test_malformed_compact_tokens_are_refused(token):
    with pytest.raises(jws.MalformedJWS):
        jws.parse(token)


# --- signatures --------------------------------------------------------------------------------


def test_the_signature_covers_header_and_payload():
    header, payload, signature = signed().split(".")
    other_payload = b64(json.dumps(claims(sub="someone-else")).encode())
    other_header = b64(json.dumps({"alg": "RS256", "kid": "k2", "typ": "at+jwt"}).encode())
    key = RSA.public_key()

    assert jws.signature_verifies(jws.parse(f"{header}.{payload}.{signature}"), "RS256", key)
    assert not jws.signature_verifies(jws.parse(f"{header}.{other_payload}.{signature}"), "RS256", key)
    assert not jws.signature_verifies(jws.parse(f"{other_header}.{payload}.{signature}"), "RS256", key)
    assert not jws.signature_verifies(jws.parse(signed()), "RS256", rsa_key().public_key())


@pytest.mark.parametrize(
    "private, alg",
    [
        (RSA, "RS384"),
        (RSA, "PS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
)
def test_every_asymmetric_algorithm_verifies_with_its_key(private, alg):
    parsed = jws.parse(signed(key=private, alg=alg))

    assert jws.signature_verifies(parsed, alg, private.public_key())


def test_a_key_of_another_type_or_curve_verifies_nothing():
    p256 = ec.generate_private_key(ec.SECP256R1())
    es256 = jws.parse(signed(key=p256, alg="ES256"))

    assert not jws.signature_verifies(jws.parse(signed()), "RS256", p256.public_key())
    assert not jws.signature_verifies(es256, "ES384", p256.public_key())
    assert not jws.signature_verifies(es256, "ES256", ec.generate_private_key(ec.SECP384R1()).public_key())


def test_symmetric_and_none_algorithms_verify_nothing():
    # Even handed the very secret that made the MAC: HS256 is never an accepted signature here.
    secret = b"s" * 32
    hs256 = jws.parse(jwt.encode(claims(), secret, algorithm="HS256"))

    assert not jws.signature_verifies(hs256, "HS256", secret)
    assert not jws.signature_verifies(jws.parse(signed().rsplit(".", 1)[0] + "."), "none", None)
    assert not jws.signature_verifies(hs256, ["RS256"], RSA.public_key())


# --- what tokens.py makes of it ------------------------------------------------------------------


def test_a_valid_token_gives_its_claims():
    assert verify(signed()) == claims()


def test_a_critical_extension_is_refused():
    with pytest.raises(InvalidToken, match="critical"):
        verify(signed(crit=["exp"], exp=1))


def test_the_payload_must_be_a_json_object():
    assert verify(signed_bytes(json.dumps(claims()).encode())) == claims()
    for payload in [b"[1, 2]", b"not json", json.dumps(claims()).encode("utf-16")]:
        with pytest.raises(InvalidToken, match="invalid token"):
            verify(signed_bytes(payload))


def test_iss_must_be_exactly_the_issuer():
    for iss in [ISSUER + "/", ISSUER.upper(), [ISSUER], 1]:
        with pytest.raises(InvalidToken, match="another issuer"):
            verify(signed_bytes(json.dumps(claims(iss=iss)).encode()))


def test_aud_must_name_this_api_among_strings_only():
    assert verify(signed(claims(aud=["https://other.example", AUDIENCE])))["aud"][1] == AUDIENCE
    for aud in ["https://other.example", [AUDIENCE, 1], {"x": AUDIENCE}, AUDIENCE + "/"]:
        with pytest.raises(InvalidToken, match="another audience"):
            verify(signed(claims(aud=aud)))
    for aud in ["", []]:
        with pytest.raises(InvalidToken, match="lacks the aud claim"):
            verify(signed(claims(aud=aud)))


def test_sub_and_jti_must_be_strings():
    for bad in [{"sub": 42}, {"jti": 7}, {"jti": ["j"]}]:
        with pytest.raises(InvalidToken):
            verify(signed(claims(**bad)))


def test_the_allow_list_and_the_keys_alg_both_apply():
    keys = Keys(k1=VerificationKey("k1", None, RSA.public_key()))
    assert verify(signed(alg="PS256"), keys=keys, algorithms=["RS256", "PS256"])
    with pytest.raises(InvalidToken, match="not accepted"):
        verify(signed(alg="PS256"), keys=keys)
    with pytest.raises(InvalidToken, match="not accepted"):
        verify(signed(alg=None, key=None), keys=keys)  # alg "none"
    with pytest.raises(InvalidToken, match="signature does not verify"):
        p256 = ec.generate_private_key(ec.SECP256R1())
        verify(signed(), keys=Keys(k1=VerificationKey("k1", None, p256.public_key())))


def test_a_key_that_leaves_the_key_set_stops_verifying_tokens_whose_header_is_cached():
    keys = Keys(k1=VerificationKey("k1", "RS256", RSA.public_key()))
    token = signed()
    assert verify(token, keys=keys)

    del keys.keys["k1"]  # revoked: the next refetch no longer lists it

    with pytest.raises(InvalidToken, match="unknown key"):
        verify(token, keys=keys)
