"""Malformed and forged JWTs: what an attacker sends as a bearer token or an `id_token_hint`.

Each function takes a genuine token (or its claims) and returns a variant the provider must refuse.
None of these should ever verify; none may make the provider answer 5xx.
"""

import base64
import hashlib
import hmac
import json
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj):
    return b64(json.dumps(obj, separators=(",", ":")))


def unb64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def split(token):
    header, payload, signature = token.split(".")
    return unb64json(header), unb64json(payload), signature


_attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rs256(signing_input, key=_attacker_key):
    return b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


def sign_with_attacker_key(header, claims):
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    return f"{signing_input}.{_rs256(signing_input)}"


def attacker_public_jwk():
    numbers = _attacker_key.public_key().public_numbers()

    def to_b64(n):
        return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "e": to_b64(numbers.e), "n": to_b64(numbers.n), "kid": "attacker"}


def public_pem_of(jwk):
    """PEM of a published RSA JWK: the 'secret' of the HS256 key-confusion attack."""
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    e = int.from_bytes(base64.urlsafe_b64decode(jwk["e"] + "=" * (-len(jwk["e"]) % 4)), "big")
    key = rsa.RSAPublicNumbers(e, n).public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def forgeries(genuine, published_jwk):
    """{name: forged token} derived from one genuine token and the provider's published key."""
    header, claims, signature = split(genuine)
    h, p, _ = genuine.split(".")
    kid = header.get("kid")
    other_claims = {**claims, "sub": "00000000-0000-0000-0000-000000000000"}

    def hs256(secret):
        hdr = {**header, "alg": "HS256"}
        signing_input = f"{b64json(hdr)}.{b64json(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    invalid_utf8 = b64(bytes([0xFF, 0xFE, 0xFD]))
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[-1] ^= 0x01
    return {
        "alg_none": f"{b64json({**header, 'alg': 'none'})}.{p}.",
        "alg_none_uppercase": f"{b64json({**header, 'alg': 'NONE'})}.{p}.",
        "alg_none_with_signature": f"{b64json({**header, 'alg': 'none'})}.{p}.{signature}",
        "hs256_public_key_as_secret": hs256(public_pem_of(published_jwk)),
        "hs256_n_as_secret": hs256(published_jwk["n"].encode()),
        "payload_swapped_keeps_signature": f"{h}.{b64json(other_claims)}.{signature}",
        "signature_bit_flipped": f"{h}.{p}.{b64(bytes(flipped))}",
        "signature_stripped": f"{h}.{p}.",
        "attacker_key_same_kid": sign_with_attacker_key(header, other_claims),
        "attacker_key_unknown_kid": sign_with_attacker_key({**header, "kid": secrets.token_hex(16)}, claims),
        "attacker_key_no_kid": sign_with_attacker_key(
            {"alg": "RS256", "typ": header.get("typ", "JWT")}, claims
        ),
        "embedded_jwk_header": sign_with_attacker_key({**header, "jwk": attacker_public_jwk()}, other_claims),
        "jku_header": sign_with_attacker_key({**header, "jku": "http://127.0.0.1:9/jwks"}, other_claims),
        "x5u_header": sign_with_attacker_key({**header, "x5u": "http://127.0.0.1:9/cert"}, other_claims),
        "crit_unknown": sign_with_attacker_key({**header, "crit": ["x-signet"], "x-signet": 1}, claims),
        "kid_path_traversal": sign_with_attacker_key({**header, "kid": "../../../../../../dev/null"}, claims),
        "kid_sql": sign_with_attacker_key({**header, "kid": "' OR '1'='1"}, claims),
        "kid_number": sign_with_attacker_key({**header, "kid": 1}, claims),
        "kid_object": sign_with_attacker_key({**header, "kid": {"$ne": kid}}, claims),
        "kid_list": sign_with_attacker_key({**header, "kid": [kid]}, claims),
        "kid_nul": sign_with_attacker_key({**header, "kid": "a\x00b"}, claims),
        "kid_huge": sign_with_attacker_key({**header, "kid": "k" * 20000}, claims),
        "alg_ps256": f"{b64json({**header, 'alg': 'PS256'})}.{p}.{signature}",
        "alg_es256": f"{b64json({**header, 'alg': 'ES256'})}.{p}.{signature}",
        "alg_missing": f"{b64json({k: v for k, v in header.items() if k != 'alg'})}.{p}.{signature}",
        "alg_number": f"{b64json({**header, 'alg': 256})}.{p}.{signature}",
        "header_not_json": f"{b64('not json')}.{p}.{signature}",
        "header_json_array": f"{b64json([header])}.{p}.{signature}",
        "header_json_string": f"{b64json('RS256')}.{p}.{signature}",
        "payload_not_json": f"{h}.{b64('not json at all')}.{signature}",
        "payload_json_array": f"{h}.{b64json([claims])}.{signature}",
        "payload_invalid_utf8": f"{h}.{invalid_utf8}.{signature}",
        "not_base64": "!!!.@@@.###",
        "two_parts": f"{h}.{p}",
        "four_parts": f"{h}.{p}.{signature}.extra",
        "five_parts_jwe_shape": f"{h}.{p}.{p}.{p}.{signature}",
        "empty_parts": "..",
        "only_dots": "." * 50,
        "huge_token": f"{h}.{b64('x' * 60000)}.{signature}",
        "whitespace_inside": f"{h} .{p}.{signature}",
        "nul_inside": f"{h}.{p}\x00.{signature}",
        "unicode": "ẽÿĵ.ñ.ç",
        "empty": "",
    }
