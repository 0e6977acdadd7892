"""Rows altered by someone with database write access but not the key-encryption key (issue 14,
finding 10 b and c): nothing they write is published, verifies a token or signs one."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.core import checks
from django.db.models import F
from jwcrypto import jwe, jwk, jws

from keys import crypto, jwt, maintenance, selectors, services
from keys.models import KeyRingLock, SigningKey
from provider.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
State = SigningKey.State


@pytest.fixture
def ring():
    """An active and a next key, as every deployment has them."""
    services.key_ensure_active()
    return SigningKey.objects.get(state=State.ACTIVE), SigningKey.objects.get(state=State.NEXT)


def fresh_worker():
    """A worker that has not looked at the ring yet (or reloads it after any change)."""
    selectors.reset_cache()


def published(client):
    response = client.get("/jwks")
    assert response.status_code == 200
    return response.json()["keys"]


def published_kids(client):
    return {k["kid"] for k in published(client)}


def claims():
    return {"sub": "s", "iat": int(time.time()), "exp": int(time.time()) + 60}


def forged_row(*, state=State.NEXT, ciphertext=None, older_than=None):
    """A key of the attacker's own, written straight into the table: its private half is theirs, under
    an AES key of theirs (the only kind they can make without the key-encryption key)."""
    kid, public, private = crypto.generate_rsa_key(2048)
    if ciphertext is None:
        token = jwe.JWE(
            private.export_private().encode(),
            protected=json.dumps({"alg": "dir", "enc": "A256GCM", "signing_kid": kid}),
        )
        token.add_recipient(jwk.JWK.generate(kty="oct", size=256))
        ciphertext = token.serialize(compact=True)
    row = SigningKey.objects.create(
        kid=kid, state=state, public_jwk=public, encrypted_private_jwk=ciphertext, size=2048
    )
    if older_than is not None:  # first in line for promotion
        SigningKey.objects.filter(pk=row.pk).update(created_at=older_than.created_at - timedelta(days=1))
    return row, private


def attacker_token(kid, private):
    """A JWT signed with the attacker's private key under the inserted row's kid."""
    signer = jws.JWS(json.dumps(claims()).encode())
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signer.add_signature(private, alg="RS256", protected=json.dumps(header))
    return signer.serialize(compact=True)


def database_check_ids():
    messages = checks.run_checks(databases=["default"])
    return {m.id for m in messages if m.id and m.id.startswith("keys.")}


# --- (b) ciphertexts bound to their row ---------------------------------------------------------


def test_a_ciphertext_copied_from_another_row_is_refused_on_decryption(ring, client):
    active, nxt = ring
    SigningKey.objects.filter(pk=nxt.pk).update(encrypted_private_jwk=active.encrypted_private_jwk)
    fresh_worker()
    with pytest.raises(crypto.KeyDecryptionError):
        selectors.keyring()[nxt.kid].private_jwk  # noqa: B018 - the decryption is the test
    assert published_kids(client) == {active.kid}
    assert "keys.E011" in database_check_ids()


def test_the_active_row_with_another_rows_ciphertext_signs_nothing(ring):
    active, nxt = ring
    SigningKey.objects.filter(pk=active.pk).update(encrypted_private_jwk=nxt.encrypted_private_jwk)
    fresh_worker()
    # Signing would put the active kid on a signature by the next key: no token at all is better.
    with pytest.raises(selectors.NoActiveKey):
        jwt.sign(claims())


def test_reencrypt_refuses_a_swapped_row_and_changes_nothing(ring):
    active, nxt = ring
    SigningKey.objects.filter(pk=nxt.pk).update(encrypted_private_jwk=active.encrypted_private_jwk)
    before = list(SigningKey.objects.order_by("pk").values_list("encrypted_private_jwk", flat=True))
    with pytest.raises(crypto.KeyMismatch):
        services.key_reencrypt_all()
    assert list(SigningKey.objects.order_by("pk").values_list("encrypted_private_jwk", flat=True)) == before


# --- (b, c) a public key that is not the private key's ----------------------------------------


def test_a_next_row_whose_public_jwk_was_replaced_is_not_published_and_never_signs(ring, client):
    active, nxt = ring
    _kid, attacker_public, _attacker_private = crypto.generate_rsa_key(2048)
    SigningKey.objects.filter(pk=nxt.pk).update(public_jwk={**attacker_public, "kid": nxt.kid})
    fresh_worker()
    keys = published(client)
    assert {k["kid"] for k in keys} == {active.kid}
    assert attacker_public["n"] not in json.dumps(keys)
    assert selectors.key_by_kid(nxt.kid) is None
    # The schedule passes it over: the key that signs next is one that opens and matches.
    rotation = services.key_rotate()
    assert rotation.active.kid != nxt.kid
    fresh_worker()
    token = jwt.sign(claims())
    assert jwt.unverified_header(token)["kid"] == rotation.active.kid
    assert jwt.verify(token)["sub"] == "s"
    assert SigningKey.objects.get(pk=nxt.pk).state == State.NEXT  # left for the operator
    assert "keys.E011" in database_check_ids()


def test_an_active_row_whose_public_jwk_was_replaced_signs_nothing(ring, client):
    active, nxt = ring
    _kid, attacker_public, _ = crypto.generate_rsa_key(2048)
    SigningKey.objects.filter(pk=active.pk).update(public_jwk={**attacker_public, "kid": active.kid})
    fresh_worker()
    assert published_kids(client) == {nxt.kid}
    with pytest.raises(selectors.NoActiveKey):
        jwt.sign(claims())


def test_a_verified_row_changed_later_is_checked_again(ring, client, preset):
    active, nxt = ring
    assert published_kids(client) == {active.kid, nxt.kid}  # verified, and the verdict cached
    _kid, attacker_public, _ = crypto.generate_rsa_key(2048)
    SigningKey.objects.filter(pk=nxt.pk).update(public_jwk={**attacker_public, "kid": nxt.kid})
    KeyRingLock.objects.filter(pk=1).update(version=F("version") + 1)  # any later change, anywhere
    selectors.invalidate()
    assert published_kids(client) == {active.kid}


# --- (c) a next key inserted without the key-encryption key -----------------------------------


@pytest.mark.parametrize("ciphertext", [None, "", "not-a-jwe"], ids=["own-aes-key", "empty", "garbage"])
def test_an_inserted_next_key_that_does_not_decrypt_is_not_published(ring, client, caplog, ciphertext):
    active, nxt = ring
    row, attacker_private = forged_row(ciphertext=ciphertext, older_than=nxt)
    fresh_worker()
    caplog.set_level(logging.ERROR, logger="signet.keys")
    for _ in range(3):
        assert published_kids(client) == {active.kid, nxt.kid}  # 200 every time, without it
    # Logged once per process, not once per request; audited by the background step, not by the
    # request that noticed it.
    assert [r for r in caplog.records if row.kid in r.getMessage()] != []
    assert len([r for r in caplog.records if row.kid in r.getMessage()]) == 1
    assert not AuditEvent.objects.filter(event="key.untrusted").exists()
    maintenance.run(schedule=False)  # the step an untrusted key alone asks for
    assert AuditEvent.objects.filter(event="key.untrusted", data__kid=row.kid).count() == 1
    # Tokens the attacker signs with it verify nowhere in Signet either...
    with pytest.raises(jwt.InvalidToken, match="unknown signing key"):
        jwt.verify(attacker_token(row.kid, attacker_private))
    # ...and the rotation schedule, which promotes the oldest next key, passes over it.
    rotation = services.key_rotate()
    assert rotation.active.kid == nxt.kid
    assert SigningKey.objects.get(pk=row.pk).state == State.NEXT
    assert "keys.E007" in database_check_ids()


def test_with_every_next_key_forged_the_first_key_is_created_not_promoted(client):
    row, _ = forged_row()
    active = services.key_ensure_active()
    assert active.kid != row.kid
    fresh_worker()
    assert row.kid not in published_kids(client)
    assert jwt.unverified_header(jwt.sign(claims()))["kid"] == active.kid
