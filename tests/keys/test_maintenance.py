"""keys/maintenance.py (issue 15, decision 5): key maintenance never runs inside a request's transaction.

A token request that finds a rotation due signs with the current key and writes nothing of the key
ring's; the rotation happens in the background step it wakes (or by `keys rotate --if-due`), and
later requests sign with the new key. Requests go through Django's whole handler in this thread, so
every statement they run is on this connection and captured.
"""

import base64
import re
import threading
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys import maintenance, selectors
from keys.maintenance import start_thread as real_start_thread
from keys.models import SigningKey
from provider.audit.models import AuditEvent
from provider.oidc.services import client_create
from tests.keys.conftest import RELOAD_EVERY_CALL, SHORT_SCHEDULE
from tests.keys.http import API, kid_of, sign_in

pytestmark = pytest.mark.django_db(transaction=True)
State = SigningKey.State
# Statements that change the key ring or lock it, and audit rows of key events.
CHANGES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b|\bFOR UPDATE\b", re.IGNORECASE)


@pytest.fixture
def service(ring):
    client, secret = client_create(
        name="Service", client_type="confidential", grant="client-credentials", audiences=[API]
    )
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def post_token(client, form, authorization):
    return client.post(
        "/token",
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=authorization,
    )


def client_credentials(client, service):
    response = post_token(client, {"grant_type": "client_credentials"}, service)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def refresh(client, rp_client, refresh_token):
    """The refresh grant: it runs in a transaction of its own (it locks the token family)."""
    rp, secret = rp_client
    credentials = base64.b64encode(f"{rp.client_id}:{secret}".encode()).decode()
    response = post_token(
        client, {"grant_type": "refresh_token", "refresh_token": refresh_token}, f"Basic {credentials}"
    )
    assert response.status_code == 200, response.content
    return response.json()


def key_ring_writes(queries):
    return [
        q["sql"]
        for q in queries.captured_queries
        if ('"keys_' in q["sql"] and CHANGES.search(q["sql"])) or '"key.' in q["sql"]
    ]


def make_due(clock, preset):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)  # rotate daily, pre-publish for an hour
    clock.advance(days=1)


def test_a_token_request_with_a_rotation_due_writes_nothing_of_the_key_ring(
    client, service, clock, preset, maintenance_wakes
):
    old = SigningKey.objects.get(state=State.ACTIVE).kid
    nxt = SigningKey.objects.get(state=State.NEXT).kid
    key_events = AuditEvent.objects.filter(event__startswith="key.").count()
    make_due(clock, preset)

    with CaptureQueriesContext(connection) as queries:
        token = client_credentials(client, service)
    assert key_ring_writes(queries) == [], "a token request wrote to or locked the key ring"
    assert kid_of(token) == old  # signed with the current key: a rotation a moment late is harmless
    assert SigningKey.objects.get(kid=old).state == State.ACTIVE
    assert AuditEvent.objects.filter(event__startswith="key.").count() == key_events
    assert maintenance_wakes, "the request did not ask for the background step"

    rotation = maintenance.run()  # the background step, on its own (here: this test's) connection
    assert rotation.rotated and rotation.active.kid == nxt
    assert kid_of(client_credentials(client, service)) == nxt
    assert AuditEvent.objects.filter(event="key.rotated").count() == 1


def test_a_grant_inside_a_transaction_writes_nothing_of_the_key_ring(
    client, issuer, browser, user, rp_client, ring, clock, preset, maintenance_wakes
):
    tokens = sign_in(issuer, browser, user, rp_client)
    old = kid_of(tokens["access_token"])
    make_due(clock, preset)
    with CaptureQueriesContext(connection) as queries:
        refreshed = refresh(client, rp_client, tokens["refresh_token"])
    assert key_ring_writes(queries) == []
    assert kid_of(refreshed["access_token"]) == old and kid_of(refreshed["id_token"]) == old
    assert maintenance_wakes

    call_command("keys", "rotate", "--if-due")  # or cron, or the container's start
    new = SigningKey.objects.get(state=State.ACTIVE).kid
    assert new != old
    refreshed = refresh(client, rp_client, refreshed["refresh_token"])
    assert kid_of(refreshed["access_token"]) == new and kid_of(refreshed["id_token"]) == new


def test_with_no_active_key_a_signing_request_fails_and_the_background_step_recovers(
    client, service, maintenance_wakes
):
    SigningKey.objects.all().delete()  # every key gone (a restore gone wrong, say)
    selectors.reset_cache()
    with CaptureQueriesContext(connection) as queries, pytest.raises(selectors.NoActiveKey):
        client_credentials(client, service)
    assert key_ring_writes(queries) == []
    assert not SigningKey.objects.exists()
    assert maintenance_wakes
    maintenance.run()
    assert kid_of(client_credentials(client, service)) == SigningKey.objects.get(state=State.ACTIVE).kid


def test_the_background_step_runs_in_a_thread_of_its_own(client, service, clock, preset, monkeypatch):
    """The production path: a request wakes a daemon thread, which rotates on its own connection."""
    old = SigningKey.objects.get(state=State.ACTIVE).kid
    nxt = SigningKey.objects.get(state=State.NEXT).kid
    # The thread waits for this, so the requests below are sure to find it running. (Requests and
    # the step at the same moment would only meet SQLite's in-memory table locks, a test artefact.)
    go = threading.Event()
    threads = []

    def start(target):
        threads.append(real_start_thread(lambda: go.wait(30) and target()))
        return threads[-1]

    monkeypatch.setattr(maintenance, "start_thread", start)
    make_due(clock, preset)
    try:
        assert kid_of(client_credentials(client, service)) == old
        for _ in range(5):  # more requests finding it due while the step runs start no second one
            assert kid_of(client_credentials(client, service)) == old
        assert len(threads) == 1 and threads[0].name == "signet-key-maintenance"
    finally:
        go.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not threads[0].is_alive()
    assert SigningKey.objects.get(state=State.ACTIVE).kid == nxt
    assert kid_of(client_credentials(client, service)) == nxt
