"""The task queue for real: the provider enqueues, `manage.py db_worker` (its own process) delivers.

Back-channel logout tokens leave after the user's logout has answered, a failing relying party is
tried a bounded number of times with growing waits, each attempt audited without the token, and
password-reset mail is sent by the worker, not the request. PostgreSQL: the worker is a second
process on the test database, claiming tasks under row locks.
"""

import json
from datetime import timedelta

import jwt
import pytest

from tests.conftest import POST_LOGOUT_URI
from tests.oidc.flows import Flow
from tests.oidc.test_backchannel_logout import verified_logout_token
from tests.support import tasks
from tests.support.browser import Browser
from tests.support.logout_receiver import LogoutReceiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BACKCHANNEL_TASK = "provider.tasks.backchannel_logout"
RETRY_SECONDS = 1


@pytest.fixture
def queued(settings):
    """The provider enqueues into the database, as in production."""
    settings.TASKS = tasks.DATABASE


@pytest.fixture
def workers(issuer):
    """Start workers on the test database; each is stopped before the database is flushed."""
    started = []

    def start(**env):
        worker = tasks.Worker(
            issuer=issuer,
            env={
                "SIGNET_BACKCHANNEL_ATTEMPTS": "3",
                "SIGNET_BACKCHANNEL_RETRY_SECONDS": str(RETRY_SECONDS),
                **env,
            },
        )
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()


def task_rows():
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.order_by("enqueued_at"))


def unfinished():
    return [row for row in task_rows() if row.status in ("READY", "RUNNING")]


def signed_in_flow(issuer, client, secret):
    flow = Flow(issuer=issuer, browser=Browser(issuer), client=client, secret=secret)
    return flow, flow.tokens()


def rp_logout(flow, tokens):
    return flow.browser.get(
        "/logout", params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    )


@pytest.fixture
def receiving(rp_client):
    """(receiver, client, secret): the relying party registered at a receiver answering as told."""
    from provider.oidc.services import client_update

    servers = []

    def make(statuses=(200,)):
        server = LogoutReceiver(statuses=statuses).__enter__()
        servers.append(server)
        client, secret = rp_client
        client_update(client=client, backchannel_logout_uri=server.uri)
        return server, client, secret

    yield make
    for server in servers:
        server.__exit__(None, None, None)


def test_logout_answers_before_the_client_is_told_and_the_worker_tells_it(
    issuer, user, queued, workers, receiving
):
    receiver, client, secret = receiving()
    flow, tokens = signed_in_flow(issuer, client, secret)
    sid = flow.id_token_claims(tokens["id_token"])["sid"]

    response = rp_logout(flow, tokens)
    # The user is back at the relying party while the logout token still waits in the queue.
    assert response.status_code == 302 and response.headers["Location"] == POST_LOGOUT_URI
    [row] = task_rows()
    assert (row.task_path, row.status) == (BACKCHANNEL_TASK, "READY")
    assert row.args_kwargs["kwargs"] == {"client_id": client.client_id, "sub": str(user.pk), "sid": sid}
    assert receiver.received == []

    workers()
    [(_path, _type, body)] = receiver.wait_for(1)
    claims = verified_logout_token(issuer, client, body["logout_token"][0])
    assert (claims["sid"], claims["sub"]) == (sid, str(user.pk))
    assert tasks.wait_until(lambda: [r.status for r in task_rows()] == ["SUCCESSFUL"])


def test_a_failing_client_is_tried_a_bounded_number_of_times_with_growing_waits_each_audited(
    issuer, user, queued, workers, receiving
):
    from provider.audit.models import AuditEvent

    receiver, client, secret = receiving(statuses=(500,))
    flow, tokens = signed_in_flow(issuer, client, secret)
    assert rp_logout(flow, tokens).status_code == 302
    workers()
    receiver.wait_for(3)
    assert tasks.wait_until(lambda: len(task_rows()) == 3 and not unfinished())
    assert len(receiver.received) == 3  # SIGNET_BACKCHANNEL_ATTEMPTS, then no more
    rows = task_rows()
    assert [r.args_kwargs["kwargs"].get("attempt", 1) for r in rows] == [1, 2, 3]
    # Each retry waits longer than the one before (RETRY_SECONDS, then twice that).
    for row, wait in zip(rows[1:], (RETRY_SECONDS, 2 * RETRY_SECONDS), strict=True):
        assert row.run_after - row.enqueued_at >= timedelta(seconds=wait) - timedelta(milliseconds=50)
    failures = list(AuditEvent.objects.filter(event="backchannel.failed").order_by("id"))
    assert [(e.client_id, e.data["attempt"], e.data["status"], e.data["retrying"]) for e in failures] == [
        (client.client_id, 1, 500, True),
        (client.client_id, 2, 500, True),
        (client.client_id, 3, 500, False),
    ]
    assert not AuditEvent.objects.filter(event="backchannel.delivered").exists()
    # A fresh token each attempt, and none of them in the audit trail.
    sent = receiver.tokens()
    assert len({jwt.decode(t, options={"verify_signature": False})["jti"] for t in sent}) == 3
    trail = json.dumps([e.data for e in AuditEvent.objects.all()])
    assert not any(t in trail or t.split(".")[2] in trail for t in sent)


def test_a_client_failing_once_gets_the_token_on_the_next_attempt(issuer, user, queued, workers, receiving):
    from provider.audit.models import AuditEvent

    receiver, client, secret = receiving(statuses=(503, 200))
    flow, tokens = signed_in_flow(issuer, client, secret)
    rp_logout(flow, tokens)
    workers()
    receiver.wait_for(2)
    assert tasks.wait_until(lambda: len(task_rows()) == 2 and not unfinished())
    events = list(AuditEvent.objects.filter(event__startswith="backchannel.").order_by("id"))
    assert [(e.event, e.data["attempt"], e.data["status"]) for e in events] == [
        ("backchannel.failed", 1, 503),
        ("backchannel.delivered", 2, 200),
    ]
    assert len(receiver.received) == 2


def test_two_workers_deliver_each_token_once(issuer, user, queued, workers, receiving):
    receiver, client, secret = receiving()
    sids = set()
    for _ in range(6):
        flow, tokens = signed_in_flow(issuer, client, secret)
        sids.add(flow.id_token_claims(tokens["id_token"])["sid"])
        rp_logout(flow, tokens)
    workers()
    workers()
    receiver.wait_for(6)
    assert tasks.wait_until(lambda: not unfinished())
    delivered = [jwt.decode(t, options={"verify_signature": False})["sid"] for t in receiver.tokens()]
    assert sorted(delivered) == sorted(sids)


def test_password_reset_mail_is_sent_by_the_worker_not_the_request(
    issuer, user, queued, workers, mailoutbox, tmp_path
):
    browser = Browser(issuer)
    page = browser.get("/accounts/password/reset/")
    sent_page = browser.submit(page, {"email": user.email})
    assert sent_page.status_code == 200 and sent_page.url.endswith("/accounts/password/reset/sent/")
    assert mailoutbox == []
    [row] = task_rows()
    assert row.task_path == "provider.tasks.password_reset_mail"
    assert set(row.args_kwargs["kwargs"]) == {"user_id", "language"}  # never the link or its token

    mail_dir = tmp_path / "mail"
    # django-environ drops the path's first slash: four of them make it absolute.
    workers(EMAIL_URL=f"filemail:///{mail_dir}")
    assert tasks.wait_until(lambda: mail_dir.is_dir() and list(mail_dir.iterdir()))
    [message] = list(mail_dir.iterdir())
    text = message.read_text()
    assert f"To: {user.email}" in text
    link = next(line for line in text.splitlines() if line.startswith(f"{issuer}/accounts/password/reset/"))
    form = browser.get(link)
    assert 'name="new_password1"' in form.text
