"""keys/services.py: the rotation state machine, the schedule, retention, purge, revoke, re-encryption."""

import logging
from datetime import timedelta

import pytest

from keys import crypto, services
from keys.models import KeyRingLock, SigningKey
from provider.oidc.services import client_create
from tests.keys.conftest import OTHER_KEK, SHORT_SCHEDULE

pytestmark = pytest.mark.django_db
State = SigningKey.State


def states():
    return {k.kid: k.state for k in SigningKey.objects.all()}


def version():
    return KeyRingLock.objects.get(pk=1).version


def by_state(state):
    return list(SigningKey.objects.filter(state=state).order_by("created_at"))


def test_ensure_creates_an_active_and_a_next_key_once(clock):
    active = services.key_ensure_active()
    assert active.state == State.ACTIVE and active.activated_at == clock.current
    assert len(by_state(State.NEXT)) == 1
    stamp = version()
    assert services.key_ensure_active().kid == active.kid
    assert len(SigningKey.objects.all()) == 2
    assert version() == stamp  # nothing changed, so no worker needs to reload


def test_ensure_promotes_the_pre_published_next_key_when_there_is_no_active_one():
    nxt = services.key_create(state=State.NEXT)
    assert services.key_ensure_active().kid == nxt.kid


def test_a_second_active_key_cannot_be_created():
    services.key_ensure_active()
    with pytest.raises(ValueError, match="already an active key"):
        services.key_create(state=State.ACTIVE)


def test_key_size_comes_from_settings(settings):
    settings.SIGNET_KEY_SIZE = 3072
    key = services.key_create()
    assert key.size == 3072
    private = crypto.decrypt_private_key(key.encrypted_private_jwk, kid=key.kid, public_jwk=key.public_jwk)
    assert private.get_op_key("sign").key_size == 3072


def test_rotate_promotes_next_retires_active_and_publishes_a_new_next(clock, settings):
    old = services.key_ensure_active()
    nxt = by_state(State.NEXT)[0]
    stamp = version()
    clock.advance(hours=1)
    result = services.key_rotate()
    assert result.rotated and result.active.kid == nxt.kid and result.retired.kid == old.kid
    assert result.prepublished_seconds == 3600
    old.refresh_from_db()
    assert old.state == State.RETIRED and old.retired_at == clock.current
    assert old.retain_until == clock.current + timedelta(seconds=services.retention_seconds())
    active = by_state(State.ACTIVE)
    assert [k.kid for k in active] == [nxt.kid] and active[0].activated_at == clock.current
    new_next = by_state(State.NEXT)
    assert len(new_next) == 1 and new_next[0].kid not in (old.kid, nxt.kid)
    assert version() > stamp


def test_rotate_on_an_empty_ring_creates_an_active_and_a_next_key():
    result = services.key_rotate()
    assert result.retired is None and result.active.state == State.ACTIVE
    assert sorted(states().values()) == ["active", "next"]


def test_rotations_form_a_chain(clock):
    services.key_ensure_active()
    results = []
    for _ in range(3):
        clock.advance(minutes=1)
        results.append(services.key_rotate())
    for before, after in zip(results, results[1:], strict=False):
        assert after.retired.kid == before.active.kid
    assert len(by_state(State.ACTIVE)) == 1 and len(by_state(State.RETIRED)) == 3


def test_retention_covers_the_longest_token_lifetime_the_reload_lag_and_leeway(settings):
    settings.SIGNET_ACCESS_TOKEN_LIFETIME = 600
    settings.SIGNET_ID_TOKEN_LIFETIME = 900
    settings.SIGNET_KEY_RELOAD_SECONDS = 5
    settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS = 300
    assert services.retention_seconds() == 900 + 5 + 300


def test_retention_covers_a_client_that_overrides_its_token_lifetime(settings):
    settings.SIGNET_KEY_RELOAD_SECONDS = 5
    settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS = 300
    client, _secret = client_create(
        name="Long-lived",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=["https://x/cb"],
    )
    client.access_token_lifetime = 7200
    client.save()
    assert services.retention_seconds() == 7200 + 5 + 300


@pytest.fixture
def due(clock, preset):
    """A ring whose active key is exactly SIGNET_KEY_ROTATION_DAYS old, with the short schedule."""
    preset(SHORT_SCHEDULE)
    active = services.key_ensure_active()
    clock.advance(days=1)
    return active


def test_rotation_is_not_due_before_the_rotation_period(clock, preset):
    preset(SHORT_SCHEDULE)
    active = services.key_ensure_active()
    clock.advance(hours=23, minutes=59)
    assert not services.rotation_due(active, by_state(State.NEXT)[0], clock.current)
    assert services.key_maintain().rotated is False


def test_a_due_rotation_happens_once(due):
    result = services.key_maintain()
    assert result.rotated and result.retired.kid == due.kid
    assert services.key_maintain().rotated is False  # the new active key is not due yet


def test_rotate_if_due_is_the_same_schedule(due, clock):
    clock.advance(seconds=-1)
    assert services.key_rotate(if_due=True).rotated is False
    clock.advance(seconds=1)
    assert services.key_rotate(if_due=True).retired.kid == due.kid


def test_prepublish_the_next_key_must_be_in_the_jwks_long_enough_before_it_signs(due, clock):
    # The next key was revoked (say) and replaced by one created just now: it is too young to sign.
    services.key_revoke(kid=by_state(State.NEXT)[0].kid)
    fresh = by_state(State.NEXT)[0]
    assert services.key_maintain().rotated is False
    clock.advance(minutes=59, seconds=59)
    assert services.key_maintain().rotated is False
    clock.advance(seconds=1)  # SIGNET_KEY_PREPUBLISH_SECONDS = 3600 after the next key appeared
    result = services.key_maintain()
    assert result.rotated and result.active.kid == fresh.kid


def test_the_schedule_publishes_a_missing_next_key_instead_of_rotating_to_an_unpublished_one(due):
    SigningKey.objects.filter(state=State.NEXT).delete()
    result = services.key_maintain()
    assert result.rotated is False and result.active.kid == due.kid
    assert len(by_state(State.NEXT)) == 1


def test_purge_deletes_retired_keys_only_after_their_tokens_expired(clock):
    services.key_ensure_active()
    retired = services.key_rotate().retired
    retired.refresh_from_db()
    clock.current = retired.retain_until
    stamp = version()
    assert services.key_purge_expired() == 0
    assert version() == stamp  # nothing to purge: no lock taken, no reload caused
    clock.advance(seconds=1)
    assert services.key_purge_expired() == 1
    assert not SigningKey.objects.filter(kid=retired.kid).exists()
    assert version() > stamp


def test_maintenance_purges_too(clock):
    services.key_ensure_active()
    retired = services.key_rotate().retired
    clock.advance(seconds=services.retention_seconds() + 1)
    services.key_maintain()
    assert not SigningKey.objects.filter(kid=retired.kid).exists()


def test_revoked_keys_are_not_purged(clock):
    services.key_ensure_active()
    retired = services.key_rotate().retired
    services.key_revoke(kid=retired.kid)
    clock.advance(days=365)
    services.key_purge_expired()
    assert SigningKey.objects.get(kid=retired.kid).state == State.REVOKED


def test_revoke_a_retired_key_drops_its_private_half(clock):
    services.key_ensure_active()
    rotation = services.key_rotate()
    key = services.key_revoke(kid=rotation.retired.kid)
    key.refresh_from_db()
    assert key.state == State.REVOKED and key.revoked_at == clock.current
    assert key.encrypted_private_jwk == ""
    assert by_state(State.ACTIVE)[0].kid == rotation.active.kid  # signing goes on undisturbed


def test_revoke_the_active_key_activates_a_brand_new_key():
    active = services.key_ensure_active()
    nxt = by_state(State.NEXT)[0]
    services.key_revoke(kid=active.kid)
    new_active = by_state(State.ACTIVE)
    assert len(new_active) == 1 and new_active[0].kid not in (active.kid, nxt.kid)
    assert [k.kid for k in by_state(State.NEXT)] == [nxt.kid]


def test_revoke_the_next_key_publishes_another():
    services.key_ensure_active()
    nxt = by_state(State.NEXT)[0]
    services.key_revoke(kid=nxt.kid)
    assert [k.kid for k in by_state(State.NEXT)] != [nxt.kid] and len(by_state(State.NEXT)) == 1


def test_revoke_is_idempotent_and_unknown_kids_raise():
    active = services.key_ensure_active()
    services.key_revoke(kid=active.kid)
    stamp = version()
    assert services.key_revoke(kid=active.kid).state == State.REVOKED
    assert version() == stamp
    with pytest.raises(services.KeyNotFound):
        services.key_revoke(kid="no-such-kid")


def test_reencrypt_moves_every_key_to_the_current_kek(settings):
    services.key_ensure_active()
    services.key_rotate()
    services.key_revoke(kid=by_state(State.RETIRED)[0].kid)  # no private half left to move
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    assert services.key_reencrypt_all() == 0  # already current
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    assert services.key_reencrypt_all() == 2
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = []
    for key in SigningKey.objects.exclude(state=State.REVOKED):
        opened = crypto.open_private_key(key.encrypted_private_jwk, kid=key.kid, public_jwk=key.public_jwk)
        assert opened.current and opened.private.thumbprint() == key.kid


def test_operator_actions_are_audited(caplog):
    caplog.set_level(logging.INFO, logger="signet.audit")
    active = services.key_ensure_active()
    services.key_rotate(actor="ops@example.com")
    services.key_revoke(kid=active.kid, actor="ops@example.com")
    events = [r.getMessage() for r in caplog.records if r.name == "signet.audit"]
    assert {"key.created", "key.activated", "key.rotated", "key.revoked"} <= set(events)
    assert all("BEGIN" not in str(vars(r)) for r in caplog.records)  # no PEM in any record
