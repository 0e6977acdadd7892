"""A database dump holds no usable private key: raw rows and `dumpdata` carry ciphertext only."""

import base64
import json
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.db import connection
from jwcrypto import jwe, jwk

from keys import crypto, selectors, services
from keys.models import SigningKey

pytestmark = pytest.mark.django_db
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


@pytest.fixture
def ring():
    """Every state at once: active, next, retired, revoked."""
    selectors.active_signing_key()
    services.key_rotate()
    services.key_rotate()
    services.key_revoke(kid=SigningKey.objects.filter(state="retired").first().kid)
    selectors.invalidate()
    return list(SigningKey.objects.all())


def secrets_of(keys):
    """Every private number of every key that has one, as base64url and as decimal, and its PEMs."""
    found = []
    for key in keys:
        if not key.encrypted_private_jwk:
            continue
        private = crypto.decrypt_private_key(key.encrypted_private_jwk)
        members = private.export_private(as_dict=True)
        for name in PRIVATE_MEMBERS:
            found.append(members[name])
            found.append(str(int.from_bytes(base64.urlsafe_b64decode(members[name] + "=="), "big"))[:40])
        pem = private.get_op_key("sign").private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        found.append(pem.decode().splitlines()[1])
    return found


def raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_signingkey")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def assert_jwk_is_public(value):
    public = json.loads(value) if isinstance(value, str) else value
    assert set(public) <= set(crypto.PUBLIC_MEMBERS)
    assert not set(public) & set(PRIVATE_MEMBERS)


def assert_is_opaque_jwe(value):
    if value == "":
        return  # a revoked key's private half is gone entirely
    parts = value.split(".")
    assert len(parts) == 5
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=="))
    assert header["alg"] == "dir" and header["enc"] == "A256GCM"
    for part in parts:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        for name in PRIVATE_MEMBERS:
            assert f'"{name}"'.encode() not in decoded


def test_raw_rows_hold_no_private_key_material(ring):
    rows = raw_rows()
    assert len(rows) == 4
    secrets = secrets_of(ring)
    assert len(secrets) == 3 * (2 * len(PRIVATE_MEMBERS) + 1)  # active, next, retired
    dump = repr(rows)
    for secret in secrets:
        assert secret not in dump
    assert "BEGIN" not in dump and "PRIVATE" not in dump
    for row in rows:
        assert_jwk_is_public(row["public_jwk"])
        assert_is_opaque_jwe(row["encrypted_private_jwk"])
    assert [r["encrypted_private_jwk"] for r in rows if r["state"] == "revoked"] == [""]


def test_dumpdata_holds_no_private_key_material(ring):
    out = StringIO()
    call_command("dumpdata", "keys", stdout=out)
    dump = out.getvalue()
    for secret in secrets_of(ring):
        assert secret not in dump
    objects = [o for o in json.loads(dump) if o["model"] == "keys.signingkey"]
    assert len(objects) == 4
    for obj in objects:
        assert_jwk_is_public(obj["fields"]["public_jwk"])
        assert_is_opaque_jwe(obj["fields"]["encrypted_private_jwk"])


def test_the_stored_jwe_cannot_be_opened_without_the_kek(ring, settings):
    stored = next(k.encrypted_private_jwk for k in ring if k.state == "active")
    # Someone holding the dump but not the KEK: any other key, even one claiming the same id, fails.
    for guess in (
        jwk.JWK.generate(kty="oct", size=256),
        crypto._kek("a-guessed-secret-0123456789abcdefgh")[1],
    ):
        token = jwe.JWE(algs=crypto.AT_REST_ALGS)
        token.deserialize(stored)
        with pytest.raises(jwe.InvalidJWEData, match="InvalidTag"):
            token.decrypt(guess)
    settings.SIGNET_KEY_ENCRYPTION_KEY = "a-guessed-secret-0123456789abcdefgh"
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(stored)


def test_kek_rotation_with_a_fallback_keeps_keys_usable_and_reencrypt_moves_them(ring, settings):
    active = selectors.active_signing_key()
    kid = active.kid
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    new = "the-next-key-encryption-key-0123456789abcdef"
    settings.SIGNET_KEY_ENCRYPTION_KEY = new
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    selectors.reset_cache()  # a freshly started worker under the new configuration
    assert selectors.active_signing_key().signer is not None  # opened through the fallback
    out = StringIO()
    call_command("keys", "reencrypt", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"reencrypted": 3}
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = []  # the old KEK can now be destroyed
    selectors.reset_cache()
    assert selectors.active_signing_key().kid == kid
    assert selectors.active_signing_key().private_jwk.thumbprint() == kid
    settings.SIGNET_KEY_ENCRYPTION_KEY = old  # and the old KEK alone opens nothing any more
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(SigningKey.objects.get(kid=kid).encrypted_private_jwk)
