"""keys/selectors.py: the per-process key cache, its reloads, the lazy schedule and kid lookups."""

import pytest
from django.db import DatabaseError, transaction

from keys import crypto, selectors, services
from keys.models import SigningKey
from tests.keys.conftest import RELOAD_EVERY_CALL, RELOAD_NEVER, SHORT_SCHEDULE

pytestmark = pytest.mark.django_db
State = SigningKey.State


def warm():
    """Create the keys and settle the cache. The first call runs maintenance inside the test's
    transaction, which makes the next call re-check the version (see keyring())."""
    selectors.active_signing_key()
    return selectors.active_signing_key()


def test_first_use_creates_the_keys_lazily():
    assert not SigningKey.objects.exists()
    key = selectors.active_signing_key()
    assert SigningKey.objects.get(state=State.ACTIVE).kid == key.kid
    assert SigningKey.objects.filter(state=State.NEXT).count() == 1


def test_within_the_reload_interval_the_cache_answers_without_queries(preset, django_assert_num_queries):
    preset(RELOAD_NEVER)
    warm()
    with django_assert_num_queries(0):
        for _ in range(50):
            selectors.active_signing_key()
            selectors.published_keys()


def test_after_the_interval_one_query_checks_the_version(preset, django_assert_num_queries):
    preset(RELOAD_EVERY_CALL)
    selectors.active_signing_key()
    with django_assert_num_queries(1):  # SELECT version: unchanged, so nothing else is read
        selectors.active_signing_key()


def test_a_rotation_elsewhere_is_seen_at_the_next_check(preset, settings):
    preset(RELOAD_NEVER)
    before = warm()
    rotation = services.key_rotate()  # as another process would: no invalidate() here
    assert selectors.active_signing_key().kid == before.kid  # still within the interval
    settings.SIGNET_KEY_RELOAD_SECONDS = 0
    assert selectors.active_signing_key().kid == rotation.active.kid


def test_invalidate_makes_this_process_see_its_own_change(preset):
    preset(RELOAD_NEVER)
    selectors.active_signing_key()
    rotation = services.key_rotate()
    selectors.invalidate()
    assert selectors.active_signing_key().kid == rotation.active.kid


def test_a_reload_keeps_material_already_decrypted(preset):
    preset(RELOAD_EVERY_CALL)
    signer = selectors.active_signing_key().signer
    old_kid = selectors.active_signing_key().kid
    services.key_rotate()
    retired = selectors.key_by_kid(old_kid)
    assert retired.state == State.RETIRED
    assert retired.signer is signer  # the same parsed object: no second decryption


def test_published_keys_lists_active_next_and_retired_but_not_revoked():
    selectors.active_signing_key()
    first = services.key_rotate()
    second = services.key_rotate()
    services.key_revoke(kid=first.retired.kid)
    selectors.invalidate()
    listed = [(k.kid, k.state) for k in selectors.published_keys()]
    assert [state for _kid, state in listed] == ["active", "next", "retired"]
    assert listed[0][0] == second.active.kid and listed[2][0] == second.retired.kid
    assert first.retired.kid not in {kid for kid, _ in listed}


def test_a_retired_key_leaves_the_jwks_when_its_retention_ends(clock, preset):
    preset(RELOAD_NEVER)  # even before any purge runs
    selectors.active_signing_key()
    retired = services.key_rotate().retired
    selectors.invalidate()
    retired.refresh_from_db()
    clock.current = retired.retain_until
    assert retired.kid in {k.kid for k in selectors.published_keys()}
    assert selectors.key_by_kid(retired.kid) is not None
    clock.advance(seconds=1)
    assert retired.kid not in {k.kid for k in selectors.published_keys()}
    assert selectors.key_by_kid(retired.kid) is None


def test_the_lazy_schedule_rotates_when_due(clock, preset):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)
    first = selectors.active_signing_key()
    nxt = SigningKey.objects.get(state=State.NEXT)
    clock.advance(hours=23)
    assert selectors.active_signing_key().kid == first.kid
    clock.advance(hours=1)
    assert selectors.active_signing_key().kid == nxt.kid
    assert SigningKey.objects.get(kid=first.kid).state == State.RETIRED


def test_the_lazy_schedule_purges(clock, preset):
    preset(RELOAD_EVERY_CALL)
    selectors.active_signing_key()
    retired = services.key_rotate().retired
    clock.advance(seconds=services.retention_seconds() + 1)
    selectors.published_keys()
    assert not SigningKey.objects.filter(kid=retired.kid).exists()


def test_an_unknown_kid_forces_one_reload(preset, django_assert_num_queries):
    preset(RELOAD_NEVER)
    warm()
    newcomer = services.key_create()  # published elsewhere a moment ago
    assert selectors.key_by_kid(newcomer.kid).kid == newcomer.kid
    # A flood of made-up kids right after costs no further queries (one forced reload a second).
    with django_assert_num_queries(0):
        for i in range(20):
            assert selectors.key_by_kid(f"made-up-{i}") is None


@pytest.mark.parametrize("kid", [None, "", 42, ["x"], {"a": 1}])
def test_a_kid_that_is_not_a_string_finds_nothing(kid):
    assert selectors.key_by_kid(kid) is None


def test_a_revoked_key_is_not_found():
    key = selectors.active_signing_key()
    services.key_revoke(kid=key.kid)
    selectors.invalidate()
    assert selectors.key_by_kid(key.kid) is None
    assert selectors.active_signing_key().kid != key.kid


class Rollback(Exception):
    pass


def test_keys_created_in_a_rolled_back_transaction_are_not_trusted(preset):
    # Lazy maintenance inside a caller's transaction: if that rolls back, so do the new keys, and
    # the cache must not keep signing with a key that no longer exists (even with a long interval).
    preset(RELOAD_NEVER)
    with pytest.raises(Rollback), transaction.atomic():
        vanished = selectors.active_signing_key().kid
        raise Rollback
    assert not SigningKey.objects.filter(kid=vanished).exists()
    key = selectors.active_signing_key()
    assert key.kid != vanished and SigningKey.objects.filter(kid=key.kid, state=State.ACTIVE).exists()


def test_jwks_document_holds_public_members_only():
    selectors.active_signing_key()
    services.key_rotate()
    selectors.invalidate()
    for jwk in selectors.jwks_document()["keys"]:
        assert set(jwk) == set(crypto.PUBLIC_MEMBERS)


def test_a_failing_scheduled_rotation_keeps_the_current_keys_serving(clock, preset, monkeypatch, caplog):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)
    current = warm().kid
    clock.advance(days=2)  # a rotation is due...

    def unavailable(**kwargs):
        raise DatabaseError("the database is read-only")  # ...and cannot happen right now

    working = services.key_maintain
    monkeypatch.setattr(services, "key_maintain", unavailable)
    assert selectors.active_signing_key().kid == current
    assert "maintenance failed" in caplog.text
    monkeypatch.setattr(services, "key_maintain", working)
    assert selectors.active_signing_key().kid != current  # and it happens at the next check


def test_with_no_key_at_all_a_failing_maintenance_is_an_error(monkeypatch):
    def unavailable(**kwargs):
        raise DatabaseError("the database is read-only")

    monkeypatch.setattr(services, "key_maintain", unavailable)
    with pytest.raises(DatabaseError):
        selectors.active_signing_key()
