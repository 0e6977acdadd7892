"""Concurrent rotations on PostgreSQL: the key ring's row lock serialises them (SQLite cannot prove it).

Each thread has its own database connection, exactly as two workers or two instances would.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from keys import maintenance, services
from keys.models import KeyRingLock, SigningKey
from tests.keys.conftest import SHORT_SCHEDULE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
State = SigningKey.State
ATTEMPTS = 20


def run_concurrently(work, count=ATTEMPTS):
    """Start `count` threads that call work() at the same moment; return (results, errors)."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def attempt():
        try:
            barrier.wait()
            results.append(work())
        except Exception as e:  # noqa: BLE001 - every failure is reported by the assertion below
            errors.append(e)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a rotation hung"
    return results, errors


def test_twenty_concurrent_rotations_leave_one_active_key_and_a_consistent_chain():
    first = services.key_ensure_active()
    version = KeyRingLock.objects.get(pk=1).version

    results, errors = run_concurrently(services.key_rotate)

    assert errors == []
    assert len(results) == ATTEMPTS and all(r.rotated for r in results)
    assert SigningKey.objects.filter(state=State.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=State.NEXT).count() == 1
    assert SigningKey.objects.filter(state=State.RETIRED).count() == ATTEMPTS
    # The rotations form one chain: each retired the key the previous one activated.
    successor = {r.retired.kid: r.active.kid for r in results}
    assert len(successor) == ATTEMPTS
    kid = first.kid
    for _ in range(ATTEMPTS):
        kid = successor[kid]
    assert kid == SigningKey.objects.get(state=State.ACTIVE).kid
    # And the rows agree: each key was retired exactly when its successor was activated.
    for retired_kid, active_kid in successor.items():
        retired, active = SigningKey.objects.get(kid=retired_kid), SigningKey.objects.get(kid=active_kid)
        assert retired.state == State.RETIRED and retired.retired_at == active.activated_at
    assert KeyRingLock.objects.get(pk=1).version == version + ATTEMPTS


def test_twenty_workers_finding_a_rotation_due_rotate_once(preset):
    preset(SHORT_SCHEDULE)
    first = services.key_ensure_active()
    due = first.activated_at + timedelta(days=1)

    results, errors = run_concurrently(lambda: services.key_maintain(now=due))

    assert errors == []
    assert sum(r.rotated for r in results) == 1
    assert len({r.active.kid for r in results}) == 1  # everyone agrees on the new active key
    assert SigningKey.objects.filter(state=State.ACTIVE).count() == 1
    assert list(SigningKey.objects.filter(state=State.RETIRED).values_list("kid", flat=True)) == [first.kid]


def test_twenty_background_steps_finding_a_rotation_due_rotate_once(preset):
    """Each worker of each instance that notices the schedule wakes its own step: one rotation."""
    preset(SHORT_SCHEDULE)
    first = services.key_ensure_active()
    nxt = SigningKey.objects.get(state=State.NEXT)
    due = first.activated_at + timedelta(days=1)

    results, errors = run_concurrently(lambda: maintenance.run(now=due))

    assert errors == [] and None not in results  # no step failed, none gave up on the lock
    assert sum(r.rotated for r in results) == 1
    assert {r.active.kid for r in results} == {nxt.kid}
    assert SigningKey.objects.get(state=State.ACTIVE).kid == nxt.kid
    assert SigningKey.objects.filter(state=State.NEXT).count() == 1
    assert list(SigningKey.objects.filter(state=State.RETIRED).values_list("kid", flat=True)) == [first.kid]


def test_twenty_first_starts_create_one_key_ring():
    KeyRingLock.objects.all().delete()  # a brand-new database: not even the ring's row exists yet

    results, errors = run_concurrently(services.key_ensure_active)

    assert errors == []
    assert len({key.kid for key in results}) == 1
    assert SigningKey.objects.filter(state=State.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=State.NEXT).count() == 1
