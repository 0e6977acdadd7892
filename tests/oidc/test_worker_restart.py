"""The task queue's worker stopped mid-queue and started again: no logout token is lost.

A real `manage.py db_worker` on PostgreSQL, as in test_backchannel_worker.py. SIGTERM is a graceful
stop (the running delivery finishes, the rest wait as READY); SIGKILL leaves the delivery in flight
RUNNING, which django-tasks-db never picks up again: the worker's stale-task reaper
(provider/tasks.py) queues it again once it is SIGNET_TASKS_STALE_SECONDS old. That delivery may then
reach the relying party twice, each time as a new logout token (a new jti) for the same sid.
"""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from tests.oidc.test_backchannel_worker import rp_logout, signed_in_flow, task_rows, unfinished
from tests.support import tasks
from tests.support.logout_receiver import LogoutReceiver

STALE_SECONDS = 3
DELAY = 1  # each delivery takes this long at the receiver: well under STALE_SECONDS


@pytest.fixture
def slow_client(rp_client, settings):
    """(receiver, client, secret): the relying party's back-channel URI answers 200 after DELAY seconds;
    the provider enqueues into the database, as in production."""
    from provider.oidc.services import client_update

    settings.TASKS = tasks.DATABASE
    with LogoutReceiver() as receiver:
        receiver.delay = DELAY
        client, secret = rp_client
        client_update(client=client, backchannel_logout_uri=receiver.uri)
        yield receiver, client, secret


@pytest.fixture
def worker(issuer):
    started = []

    def start():
        started.append(
            tasks.Worker(issuer=issuer, env={"SIGNET_TASKS_STALE_SECONDS": str(STALE_SECONDS)}).start()
        )
        return started[-1]

    yield start
    for w in started:
        w.stop()


def logouts_queued(issuer, client, secret, count):
    """`count` sign-ins ended by RP-initiated logout: their sids, the logout tokens waiting in the queue."""
    sids = []
    for _ in range(count):
        flow, tokens = signed_in_flow(issuer, client, secret)
        sids.append(flow.id_token_claims(tokens["id_token"])["sid"])
        assert rp_logout(flow, tokens).status_code == 302
    assert [row.status for row in task_rows()] == ["READY"] * count
    return sids


def delivered_sids(receiver):
    return sorted(jwt.decode(t, options={"verify_signature": False})["sid"] for t in receiver.tokens())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_stopped_with_sigterm_finishes_its_delivery_and_the_next_one_sends_the_rest(
    issuer, user, slow_client, worker
):
    receiver, client, secret = slow_client
    sids = logouts_queued(issuer, client, secret, 4)
    first = worker()
    receiver.wait_for(1)  # a delivery is in flight (the receiver is still answering)
    first.process.terminate()
    assert first.process.wait(timeout=30) == 0  # graceful: it waited for that delivery
    statuses = sorted(row.status for row in task_rows())
    assert statuses == ["READY", "READY", "READY", "SUCCESSFUL"]
    assert len(receiver.received) == 1

    worker()
    assert tasks.wait_until(lambda: not unfinished())
    assert [row.status for row in task_rows()] == ["SUCCESSFUL"] * 4
    assert delivered_sids(receiver) == sorted(sids)  # each once: nothing lost, nothing repeated


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_was_killed_is_run_again_by_the_next_worker(
    issuer, user, slow_client, worker
):
    receiver, client, secret = slow_client
    sids = logouts_queued(issuer, client, secret, 3)
    first = worker()
    receiver.wait_for(1)
    first.process.kill()  # SIGKILL in the middle of the POST: nothing runs in the worker any more
    first.process.wait(timeout=30)
    assert sorted(row.status for row in task_rows()) == ["READY", "READY", "RUNNING"]

    worker()
    assert tasks.wait_until(lambda: not unfinished())
    assert [row.status for row in task_rows()] == ["SUCCESSFUL"] * 3
    # Every sign-in's client was told; the killed delivery twice (it may have arrived before the kill),
    # each time with its own jti: the relying party ends that sid once and answers 200 again.
    assert sorted(set(delivered_sids(receiver))) == sorted(sids)
    assert len(receiver.received) == 4
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in receiver.tokens()}
    assert len(jtis) == 4


@pytest.mark.django_db
def test_only_tasks_running_for_longer_than_the_stale_age_are_queued_again(settings):
    from django_tasks_db.models import DBTaskResult

    from provider import tasks as provider_tasks

    settings.SIGNET_TASKS_STALE_SECONDS = 60
    now = timezone.now()

    def row(status, started_seconds_ago):
        return DBTaskResult.objects.create(
            status=status,
            started_at=None if started_seconds_ago is None else now - timedelta(seconds=started_seconds_ago),
            args_kwargs={"args": [], "kwargs": {}},
            task_path="provider.tasks.backchannel_logout",
            backend_name="default",
            run_after=now,
            worker_ids=["dead-worker"],
        )

    stale = row("RUNNING", 61)
    busy = row("RUNNING", 30)
    done = row("SUCCESSFUL", 600)
    waiting = row("READY", None)
    assert provider_tasks.stale_requeue() == 1
    stale.refresh_from_db()
    assert (stale.status, stale.started_at) == ("READY", None)
    assert [DBTaskResult.objects.get(pk=r.pk).status for r in (busy, done, waiting)] == [
        "RUNNING",
        "SUCCESSFUL",
        "READY",
    ]
    assert provider_tasks.stale_requeue() == 0
