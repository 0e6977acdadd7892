"""A database dump holds no usable private key: raw rows and `dumpdata` carry ciphertext only."""

import base64
import json
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from django.core import checks
from django.core.management import call_command
from django.db import connection
from jwcrypto import jwe, jwk

from keys import crypto, selectors, services
from keys.models import SigningKey
from tests.keys.conftest import OTHER_KEK
from tests.keys.legacy import PASSPHRASE, legacy_ciphertext, legacy_fingerprint

pytestmark = pytest.mark.django_db
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


@pytest.fixture
def ring():
    """Every state at once: active, next, retired, revoked."""
    services.key_ensure_active()
    services.key_rotate()
    services.key_rotate()
    services.key_revoke(kid=SigningKey.objects.filter(state="retired").first().kid)
    selectors.invalidate()
    return list(SigningKey.objects.all())


def private_of(row):
    return crypto.decrypt_private_key(row.encrypted_private_jwk, kid=row.kid, public_jwk=row.public_jwk)


def header_of(ciphertext):
    return json.loads(base64.urlsafe_b64decode(ciphertext.split(".")[0] + "=="))


def secrets_of(keys):
    """Every private number of every key that has one, as base64url and as decimal, and its PEMs."""
    found = []
    for key in keys:
        if not key.encrypted_private_jwk:
            continue
        private = private_of(key)
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
    active = next(k for k in ring if k.state == "active")
    stored = active.encrypted_private_jwk
    # Someone holding the dump but not the KEK: any other key fails, a well-formed one included.
    for guess in (jwk.JWK.generate(kty="oct", size=256), crypto._aes_key(OTHER_KEK)):
        token = jwe.JWE(algs=crypto.AT_REST_ALGS)
        token.deserialize(stored)
        with pytest.raises(jwe.InvalidJWEData, match="InvalidTag"):
            token.decrypt(guess)
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(stored, kid=active.kid, public_jwk=active.public_jwk)


def header_segments(rows):
    # By kid: PostgreSQL returns rows in another order once they have been updated.
    return {r["kid"]: r["encrypted_private_jwk"].split(".")[0] for r in rows if r["encrypted_private_jwk"]}


def test_the_stored_header_gives_no_offline_test_for_a_kek_guess(ring, settings):
    # (a) Read straight from the table: the header names the row's kid and the algorithms, nothing
    # computed from the key-encryption key (the old 16-hex-digit "kid" let a dump test guesses).
    rows = [r for r in raw_rows() if r["encrypted_private_jwk"]]
    assert len(rows) == 3
    for row in rows:
        assert header_of(row["encrypted_private_jwk"]) == {
            "alg": "dir",
            "enc": "A256GCM",
            "signing_kid": row["kid"],
        }
    # And the same key under another KEK gets the very same header.
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [settings.SIGNET_KEY_ENCRYPTION_KEY]
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    assert services.key_reencrypt_all() == 3
    assert header_segments(raw_rows()) == header_segments(rows)


def test_kek_rotation_with_a_fallback_keeps_keys_usable_and_reencrypt_moves_them(ring, settings):
    active = selectors.active_signing_key()
    kid = active.kid
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
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
    row = SigningKey.objects.get(kid=kid)
    with pytest.raises(crypto.KeyDecryptionError):
        crypto.decrypt_private_key(row.encrypted_private_jwk, kid=kid, public_jwk=row.public_jwk)


def check_ids(database=True):
    messages = checks.run_checks(databases=["default"] if database else None)
    return {m.id for m in messages if m.id and m.id.startswith("keys.")}


def test_a_deployment_on_a_legacy_passphrase_moves_to_a_generated_key(ring, settings, client):
    """README's upgrade path: generate a key, the passphrase goes to the fallbacks (decryption only,
    with a warning), `keys reencrypt` moves every row, then the passphrase goes away."""
    # The database as the code before kek.py left it: every private key under a passphrase.
    for key in SigningKey.objects.exclude(encrypted_private_jwk=""):
        SigningKey.objects.filter(pk=key.pk).update(encrypted_private_jwk=legacy_ciphertext(private_of(key)))
    legacy = [r["encrypted_private_jwk"] for r in raw_rows() if r["encrypted_private_jwk"]]
    assert [header_of(c)["kid"] for c in legacy] == [legacy_fingerprint(PASSPHRASE)] * 3
    published = {k.kid for k in ring if k.encrypted_private_jwk}

    # Upgrade: a generated key, the passphrase kept as a fallback.
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [PASSPHRASE]
    selectors.reset_cache()  # workers started on the new configuration
    assert {k["kid"] for k in client.get("/jwks").json()["keys"]} == published  # nothing lost meanwhile
    assert selectors.active_signing_key().signer is not None
    found = check_ids()
    assert {"keys.W010", "keys.W012"} <= found and "keys.E007" not in found

    out = StringIO()
    call_command("keys", "reencrypt", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"reencrypted": 3}
    for row in raw_rows():
        if row["encrypted_private_jwk"]:
            assert header_of(row["encrypted_private_jwk"]) == {
                "alg": "dir",
                "enc": "A256GCM",
                "signing_kid": row["kid"],
            }

    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = []  # the passphrase can now be forgotten
    selectors.reset_cache()
    assert check_ids() == set()
    assert {k["kid"] for k in client.get("/jwks").json()["keys"]} == published
    assert selectors.active_signing_key().signer is not None


def test_without_its_passphrase_in_the_fallbacks_a_legacy_row_opens_nowhere(ring, settings, client):
    active = next(k for k in ring if k.state == "active")
    SigningKey.objects.filter(pk=active.pk).update(
        encrypted_private_jwk=legacy_ciphertext(private_of(active))
    )
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = ["another-passphrase-not-the-one-used-2024"]
    selectors.reset_cache()
    assert "keys.E007" in check_ids()
    assert active.kid not in {k["kid"] for k in client.get("/jwks").json()["keys"]}
