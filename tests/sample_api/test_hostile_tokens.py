"""sample_api/tokens.py against hostile and malformed tokens: what PyJWT checks and what tokens.py adds.

No provider here: tokens are signed with keys made in the test, so each rule can be broken alone.
"""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sample_api.jwks import UnknownKey, VerificationKey
from sample_api.tokens import MAX_TOKEN_LENGTH, InvalidToken, access_token_verify
from tests.sample_api.tokens import rsa_key

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
T = 2_000_000_000
RSA = rsa_key()
P384 = ec.generate_private_key(ec.SECP384R1())
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


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


def signed_segments(header, payload, key=RSA, alg="RS256"):
    """A token over any header and payload bytes, even ones PyJWT would refuse to encode."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = b"" if alg == "none" else jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def signed(payload=None, key=RSA, alg="RS256", **headers):
    """Signed by `key` with `alg` (the header says so unless told otherwise); None drops a header."""
    header = {k: v for k, v in {"alg": alg, "kid": "k1", "typ": "at+jwt", **headers}.items() if v is not None}
    payload = claims() if payload is None else payload
    return signed_segments(json.dumps(header).encode(), json.dumps(payload).encode(), key, alg)


def signed_bytes(payload):
    return signed_segments(json.dumps({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}).encode(), payload)


class Keys:
    """A key source with fixed keys, in place of the JWKS client; it records the kids asked for."""

    def __init__(self, **keys):
        self.keys = keys
        self.asked = []

    def signing_key(self, kid):
        self.asked.append(kid)
        if not isinstance(kid, str) or kid not in self.keys:
            raise UnknownKey(kid)
        return self.keys[kid]


def rsa_keys():
    return Keys(k1=VerificationKey("k1", "RS256", RSA.public_key()))


def verify(token, keys=None, algorithms=("RS256",)):
    keys = keys or rsa_keys()
    return access_token_verify(
        token, keys=keys, issuer=ISSUER, audience=AUDIENCE, algorithms=list(algorithms), now=T
    )


def refused(token, match, **kw):
    with pytest.raises(InvalidToken, match=match):
        verify(token, **kw)


# --- the compact form ------------------------------------------------------------------------------


def test_a_valid_token_gives_its_claims():
    assert verify(signed()) == claims()
    assert verify(signed_bytes(json.dumps(claims()).encode())) == claims()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "..",
        b64(b"[1]") + ".e30.",  # header is not an object
        b64(b"{nope") + ".e30.",
        b64(b"\xff\xfe{}") + ".e30.",  # not UTF-8
        b64(b'{"alg": "RS256", "kid": "\xff"}') + ".e30.",
        # Non-ASCII (a header value arrives latin-1 decoded) in each segment: refused, never a 500.
        "é" + ".e30.",
        b64(b'{"alg":"RS256"}') + ".é.",
        b64(b'{"alg":"RS256"}') + ".e30.é",
        "é.é.é",
        # Characters outside base64url in each segment.
        "ey J9.e30.",
        b64(b'{"alg":"RS256"}') + ".e3!0.",
        b64(b'{"alg":"RS256"}') + ".e30.a\nb",
        # A segment of 4n+1 characters decodes to no whole byte.
        "eyJhbGciOiJSUzI1NiJ9A.e30.",
    ],
)
def test_malformed_compact_tokens_are_refused(token):
    refused(token, "malformed token")


def test_a_malformed_token_is_refused_every_time():
    bad = b64(b"{nope") + ".e30."
    for _ in range(2):
        refused(bad, "malformed token")


def test_an_overlong_token_is_refused_before_any_parsing():
    keys = rsa_keys()
    token = signed(claims(pad="x" * MAX_TOKEN_LENGTH))
    refused(token, "malformed token", keys=keys)
    assert keys.asked == []


def test_padding_is_refused_so_that_a_token_has_one_spelling():
    token = signed()
    segments = token.split(".")
    padded_any = False
    for i, segment in enumerate(segments):
        if len(segment) % 4:
            padded = segments.copy()
            padded[i] = segment + "=" * (-len(segment) % 4)
            refused(".".join(padded), "malformed token")
            padded_any = True
    assert padded_any  # a 2048-bit RSA signature is 342 characters: it always needs "=="


def test_the_standard_base64_alphabet_is_refused():
    # A claim chosen so that the payload segment holds both "-" and "_": the same bytes in standard
    # base64 ("+" and "/") are another spelling of the same token.
    for filler in ["", "a", "aa"]:
        token = signed(claims(x=filler + ">>>???" * 4))
        if "-" in token.split(".")[1] and "_" in token.split(".")[1]:
            break
    else:
        raise AssertionError("no filler put both - and _ in the payload")
    assert verify(token)
    refused(token.replace("-", "+").replace("_", "/"), "malformed token")


def test_a_last_character_is_accepted_exactly_when_it_is_the_original_spelling():
    # The signature segment has 342 characters (4n+2): its last one carries 4 unused bits. A
    # character that sets any of them would be a second spelling of some signature.
    token = signed()
    signing_input, signature = token.rsplit(".", 1)
    assert len(signature) % 4 == 2
    for last in ALPHABET:
        segment = signature[:-1] + last
        variant = f"{signing_input}.{segment}"
        if b64(base64.urlsafe_b64decode(segment + "==")) != segment:
            refused(variant, "malformed token")  # unused bits set: not the canonical spelling
        elif last == signature[-1]:
            assert verify(variant)
        else:
            refused(variant, "signature does not verify")  # canonical, but other bytes


@pytest.mark.parametrize(
    "nested",
    ["[" * 2_500 + "]" * 2_500, '{"":' * 2_000 + "1" + "}" * 2_000, "[" * 6_000 + "]" * 6_000],
    ids=["arrays", "objects", "arrays-to-the-length-limit"],
)
def test_deeply_nested_json_is_refused_without_a_server_error(nested):
    # Python's JSON parser raises RecursionError past about a thousand levels: never a 500.
    header = b64(nested.encode())
    assert len(header) < MAX_TOKEN_LENGTH - 10  # so that it is the parser that refuses it
    refused(f"{header}.e30.c2ln", "malformed token")
    if len(header) < MAX_TOKEN_LENGTH // 2:
        refused(signed_bytes(nested.encode()), "invalid token")  # signed, so the payload gets parsed


# --- signatures ----------------------------------------------------------------------------------


def test_the_signature_covers_header_and_payload():
    header, payload, signature = signed().split(".")
    other_payload = b64(json.dumps(claims(sub="admin")).encode())
    # Another kid naming the very same key: only the header changed.
    other_header = b64(json.dumps({"alg": "RS256", "kid": "k2", "typ": "at+jwt"}).encode())
    same = RSA.public_key()
    keys = Keys(k1=VerificationKey("k1", "RS256", same), k2=VerificationKey("k2", "RS256", same))

    assert verify(f"{header}.{payload}.{signature}", keys=keys)
    refused(f"{header}.{other_payload}.{signature}", "signature does not verify", keys=keys)
    refused(f"{other_header}.{payload}.{signature}", "signature does not verify", keys=keys)
    refused(signed(key=rsa_key()), "signature does not verify", keys=keys)


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
    keys = Keys(k1=VerificationKey("k1", alg, private.public_key()))

    token = signed(key=private, alg=alg)
    header, _, signature = token.split(".")
    other_payload = b64(json.dumps(claims(sub="admin")).encode())

    assert verify(token, keys=keys, algorithms=[alg]) == claims()
    refused(f"{header}.{other_payload}.{signature}", "signature does not verify", keys=keys, algorithms=[alg])


@pytest.mark.parametrize(
    "private, alg, public",
    [
        (RSA, "RS256", ec.generate_private_key(ec.SECP256R1()).public_key()),  # an EC key for RS256
        (ec.generate_private_key(ec.SECP256R1()), "ES256", RSA.public_key()),  # an RSA key for ES256
        (ec.generate_private_key(ec.SECP256R1()), "ES256", P384.public_key()),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA", RSA.public_key()),
    ],
    ids=["ec-key-for-rs256", "rsa-key-for-es256", "p384-key-for-es256", "rsa-key-for-eddsa"],
)
def test_a_key_of_another_type_or_curve_verifies_nothing(private, alg, public):
    # The key declares no alg, so only its type and curve stand between it and the token's alg.
    keys = Keys(k1=VerificationKey("k1", None, public))

    refused(signed(key=private, alg=alg), "signature does not verify", keys=keys, algorithms=[alg])


def test_symmetric_and_none_algorithms_are_refused_even_when_asked_for():
    # Even handed the very secret that made the MAC and a caller allowing HS256: tokens.py takes
    # public-key algorithms only.
    secret = b"s" * 32
    keys = Keys(k1=VerificationKey("k1", None, secret))
    refused(signed(key=secret, alg="HS256"), "algorithm is not accepted", keys=keys, algorithms=["HS256"])
    refused(signed(key=None, alg="none"), "algorithm is not accepted", algorithms=["RS256", "none"])
    # The classic confusion: HMAC keyed with the PEM of the RSA public key.
    pem = RSA.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    refused(signed(key=pem, alg="HS256"), "algorithm is not accepted")
    for alg in [None, 1, ["RS256"], {"RS256": 1}, "rs256", ""]:
        header = json.dumps({"alg": alg, "kid": "k1", "typ": "at+jwt"}).encode()
        refused(signed_segments(header, json.dumps(claims()).encode()), "algorithm is not accepted")


# --- the header --------------------------------------------------------------------------------------


def test_a_critical_extension_is_refused():
    # PyJWT refuses extensions it does not know while reading the header...
    refused(signed(crit=["exp"], exp=1), "malformed token")
    refused(signed(crit="b64", b64=True), "malformed token")
    # ...and knows "b64" (RFC 7797). We implement no extension, so it is refused too.
    refused(signed(crit=["b64"], b64=True), "critical")


def test_an_unencoded_payload_is_refused():
    # RFC 7797 b64=false: the payload would be taken raw instead of base64url-decoded.
    header = json.dumps({"alg": "RS256", "kid": "k1", "typ": "at+jwt", "b64": False}).encode()
    signing_input = b64(header) + "." + json.dumps(claims())
    signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), RSA)
    with pytest.raises(InvalidToken):
        verify(f"{b64(header)}..{b64(signature)}")
    with pytest.raises(InvalidToken):
        verify(f"{signing_input}.{b64(signature)}")


@pytest.mark.parametrize("embedded", ["jwk", "jku", "x5u", "x5c"])
def test_a_key_named_in_the_header_is_never_used(embedded):
    attacker = rsa_key()
    value = {
        "jwk": jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True),
        "jku": "https://attacker.example/jwks",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
    }[embedded]
    keys = rsa_keys()

    # Under the provider's kid: checked against the provider's key, so the signature fails.
    refused(signed(key=attacker, **{embedded: value}), "signature does not verify", keys=keys)
    # Without a kid, or with one of its own: no published key, whatever the header offers.
    refused(signed(key=attacker, kid=None, **{embedded: value}), "unknown key", keys=keys)
    refused(signed(key=attacker, kid="attacker", **{embedded: value}), "unknown key", keys=keys)
    assert keys.asked == ["k1", None, "attacker"]


@pytest.mark.parametrize("kid", [1, ["k1"], {"k1": 1}, True])
def test_a_kid_that_is_not_a_string_is_refused(kid):
    keys = rsa_keys()
    refused(signed(kid=kid), "malformed token", keys=keys)
    assert keys.asked == []


@pytest.mark.parametrize("kid", ["", "../../k1", "k1\x00", "k" * 5000, "K1"])
def test_a_kid_is_looked_up_exactly(kid):
    refused(signed(kid=kid), "unknown key")


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt2", "application/jwt", 1, ["at+jwt"]])
def test_only_the_access_token_type_is_accepted(typ):
    refused(signed(typ=typ), "typ must be at\\+jwt")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"])
def test_the_access_token_type_is_case_insensitive_and_may_carry_application(typ):
    assert verify(signed(typ=typ)) == claims()


def test_the_allow_list_and_the_keys_alg_both_apply():
    keys = Keys(k1=VerificationKey("k1", None, RSA.public_key()))
    assert verify(signed(alg="PS256"), keys=keys, algorithms=["RS256", "PS256"])
    refused(signed(alg="PS256"), "not accepted", keys=keys)
    refused(signed(key=None, alg="none"), "not accepted", keys=keys)  # alg "none"
    declared = Keys(k1=VerificationKey("k1", "RS256", RSA.public_key()))
    refused(signed(alg="PS256"), "does not match its key", keys=declared, algorithms=["RS256", "PS256"])


def test_a_disallowed_algorithm_costs_no_key_lookup():
    # A made-up kid on such a token must not make the JWKS client refetch the key set.
    keys = rsa_keys()
    refused(signed(key=None, alg="none", kid="made-up"), "not accepted", keys=keys)
    refused(signed(key=b"s" * 32, alg="HS256", kid="made-up"), "not accepted", keys=keys)
    assert keys.asked == []


# --- the claims --------------------------------------------------------------------------------------


def test_the_payload_must_be_a_json_object():
    not_utf8 = [b'{"iss": "\xff"}', b"\xff\xfe{}"]
    for payload in [b"[1, 2]", b'"a string"', b"1", b"null", b"not json", b"", *not_utf8]:
        refused(signed_bytes(payload), "invalid token")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
def test_every_rfc9068_claim_is_required(claim):
    refused(signed(claims(**{claim: None})), f"lacks the {claim} claim")
    refused(signed_bytes(json.dumps({**claims(), claim: None}).encode()), f"lacks the {claim} claim")


def test_json_in_another_unicode_encoding_is_no_way_around_the_signature():
    # RFC 7515 and 7519 ask for UTF-8. Python's json, under PyJWT, also reads UTF-16, UTF-32 and a
    # UTF-8 byte order mark, so such a token verifies if the provider's key signed it: the key's
    # holder alone can make one. Signed by anyone else it fails as any forgery does.
    header = json.dumps({"alg": "RS256", "kid": "k1", "typ": "at+jwt"})
    payload = json.dumps(claims(sub="admin"))
    forger, forged = rsa_key(), "signature does not verify"
    for encoding in ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"]:
        refused(signed_segments(header.encode(encoding), payload.encode(), forger), forged)
        refused(signed_segments(header.encode(), payload.encode(encoding), forger), forged)


def test_iss_must_be_exactly_the_issuer():
    # ISSUER[:-1]: PyJWT 2.10.0 accepted any substring of the issuer (GHSA-75c5-xw7c-p5pm).
    for iss in [ISSUER + "/", ISSUER[:-1], "", ISSUER.upper(), [ISSUER], 1, {"iss": ISSUER}]:
        refused(signed(claims(iss=iss)), "another issuer")


def test_aud_must_name_this_api_among_strings_only():
    assert verify(signed(claims(aud=["https://other.example", AUDIENCE])))["aud"][1] == AUDIENCE
    for aud in [
        "https://other.example",
        [AUDIENCE, 1],
        {"x": AUDIENCE},
        AUDIENCE + "/",
        AUDIENCE[:-1],
        True,
        1,
    ]:
        refused(signed(claims(aud=aud)), "another audience")
    for aud in ["", []]:
        refused(signed(claims(aud=aud)), "lacks the aud claim")


def test_sub_and_jti_must_be_strings():
    for bad in [{"sub": 42}, {"jti": 7}, {"jti": ["j"]}, {"sub": ["u1"]}]:
        with pytest.raises(InvalidToken):
            verify(signed(claims(**bad)))


def test_a_key_that_leaves_the_key_set_stops_verifying_its_tokens():
    keys = rsa_keys()
    token = signed()
    assert verify(token, keys=keys)

    del keys.keys["k1"]  # revoked: the next refetch no longer lists it

    refused(token, "unknown key", keys=keys)
