"""keys/selectors.py: the per-process key cache, its reloads, kid lookups, and reads that never
write but leave the schedule's work to keys.maintenance."""

import re

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from keys import maintenance, selectors, services
from keys.models import SigningKey
from provider.audit.models import AuditEvent
from tests.keys.conftest import RELOAD_EVERY_CALL, RELOAD_NEVER, SHORT_SCHEDULE

pytestmark = pytest.mark.django_db
State = SigningKey.State
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|SAVEPOINT)\b|\bFOR UPDATE\b", re.IGNORECASE)


def warm():
    """Create the keys and settle the cache."""
    services.key_ensure_active()
    return selectors.active_signing_key()


def writes(queries):
    return [q["sql"] for q in queries if WRITE.search(q["sql"])]


def test_reading_an_empty_ring_creates_nothing_and_wakes_maintenance(maintenance_wakes):
    with CaptureQueriesContext(connection) as queries, pytest.raises(selectors.NoActiveKey):
        selectors.active_signing_key()
    assert writes(queries.captured_queries) == []
    assert not SigningKey.objects.exists() and not AuditEvent.objects.exists()
    assert selectors.published_keys() == []
    assert maintenance_wakes  # the background step was asked for...

    maintenance.run()  # ...and, run, makes the keys
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
    warm()
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
    warm()
    rotation = services.key_rotate()
    selectors.invalidate()
    assert selectors.active_signing_key().kid == rotation.active.kid


def test_a_reload_keeps_material_already_decrypted(preset):
    preset(RELOAD_EVERY_CALL)
    signer = warm().signer
    old_kid = selectors.active_signing_key().kid
    services.key_rotate()
    retired = selectors.key_by_kid(old_kid)
    assert retired.state == State.RETIRED
    assert retired.signer is signer  # the same parsed object: no second decryption


def test_published_keys_lists_active_next_and_retired_but_not_revoked():
    services.key_ensure_active()
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
    services.key_ensure_active()
    retired = services.key_rotate().retired
    selectors.invalidate()
    retired.refresh_from_db()
    clock.current = retired.retain_until
    assert retired.kid in {k.kid for k in selectors.published_keys()}
    assert selectors.key_by_kid(retired.kid) is not None
    clock.advance(seconds=1)
    assert retired.kid not in {k.kid for k in selectors.published_keys()}
    assert selectors.key_by_kid(retired.kid) is None


def test_a_due_rotation_is_left_to_the_background_step(clock, preset, maintenance_wakes):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)
    first = warm()
    nxt = SigningKey.objects.get(state=State.NEXT)
    clock.advance(hours=23)
    assert selectors.active_signing_key().kid == first.kid
    assert maintenance_wakes == []  # not due: nobody is asked
    clock.advance(hours=1)
    with CaptureQueriesContext(connection) as queries:
        assert selectors.active_signing_key().kid == first.kid  # due, but a read only asks
    assert writes(queries.captured_queries) == []
    assert SigningKey.objects.get(kid=first.kid).state == State.ACTIVE
    assert len(maintenance_wakes) == 1

    assert maintenance.run().rotated
    assert selectors.active_signing_key().kid == nxt.kid
    assert SigningKey.objects.get(kid=first.kid).state == State.RETIRED


def test_expired_retired_keys_are_purged_by_the_background_step(clock, preset, maintenance_wakes):
    preset(RELOAD_EVERY_CALL)
    warm()
    retired = services.key_rotate().retired
    clock.advance(seconds=services.retention_seconds() + 1)
    assert retired.kid not in {k.kid for k in selectors.published_keys()}
    assert SigningKey.objects.filter(kid=retired.kid).exists()  # a read deletes nothing
    assert maintenance_wakes
    maintenance.run()
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
    key = warm()
    services.key_revoke(kid=key.kid)
    selectors.invalidate()
    assert selectors.key_by_kid(key.kid) is None
    assert selectors.active_signing_key().kid != key.kid


def test_jwks_document_holds_public_members_only():
    services.key_ensure_active()
    services.key_rotate()
    selectors.invalidate()
    for jwk in selectors.jwks_document()["keys"]:
        assert set(jwk) == {"kty", "kid", "use", "alg", "n", "e"}  # RSA's public members (RFC 7518 6.3.1)


def test_a_failing_background_step_keeps_the_current_keys_serving(
    clock, preset, monkeypatch, caplog, maintenance_wakes
):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)
    current = warm().kid
    clock.advance(days=2)  # a rotation is due...

    def unavailable(**kwargs):
        raise DatabaseError("the database is read-only")  # ...and cannot happen right now

    working = services.key_maintain
    monkeypatch.setattr(services, "key_maintain", unavailable)
    assert selectors.active_signing_key().kid == current
    assert maintenance.run() is None
    assert "maintenance failed" in caplog.text
    assert selectors.active_signing_key().kid == current
    # Reads do not ask again at once (one failure, one log line per RETRY_AFTER_FAILURE_SECONDS)...
    wakes = len(maintenance_wakes)
    selectors.active_signing_key()
    assert len(maintenance_wakes) == wakes
    # ...and the next step that runs does the rotation.
    monkeypatch.setattr(services, "key_maintain", working)
    assert maintenance.run().rotated
    assert selectors.active_signing_key().kid != current


def test_with_no_key_at_all_signing_is_a_clear_error(maintenance_wakes):
    with pytest.raises(selectors.NoActiveKey, match="no usable active signing key"):
        selectors.active_signing_key()
    assert not SigningKey.objects.exists()
