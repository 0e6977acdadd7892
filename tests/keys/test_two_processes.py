"""Two OS processes sharing one PostgreSQL database agree on the signing key within
SIGNET_KEY_RELOAD_SECONDS of a rotation made in either.

This process serves through pytest-django's live server; the other instance is gunicorn (two workers)
started on the test database. Each side observes which key the other signs with by asking it for a
token over HTTP. Waiting is polling with a generous deadline, never a fixed sleep.
"""

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import requests
from django.db import connection
from django.db.models import F
from django.utils import timezone

from keys import maintenance, selectors, services
from keys.models import KeyRingLock, SigningKey
from provider.audit.models import AuditEvent
from provider.oidc.services import client_create
from tests.keys.conftest import SHORT_SCHEDULE
from tests.keys.http import API, keys_command

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
RELOAD_SECONDS = 1
DEADLINE_SECONDS = RELOAD_SECONDS + 20  # a loaded CI machine, not the claim itself
STARTUP_SECONDS = 90  # gunicorn importing Django twice on a busy 2-core machine
CONSECUTIVE = 10  # answers in a row carrying the new kid: every worker has switched
PROCESSES = 4  # operators' commands started at the same moment
real_start_thread = maintenance.start_thread  # tests/conftest.py records wakes instead, per test


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def other_environment(**extra):
    """The environment of another instance on this test database (secrets as in this process)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "SIGNET_KEY_RELOAD_SECONDS": str(RELOAD_SECONDS),
        "SIGNET_READ_DOT_ENV": "false",
        # The rotation schedule of SHORT_SCHEDULE, which the due-rotation tests give this process too.
        **{name: str(value) for name, value in SHORT_SCHEDULE.items()},
        **extra,
    }


def poll(predicate, what, seconds=DEADLINE_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # polling interval, not a wait for the outcome
    pytest.fail(f"{what} within {seconds}s")


@pytest.fixture
def other_instance():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "provider.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=other_environment(OIDC_ISSUER=url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def up():
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        try:
            return requests.get(f"{url}/healthz", timeout=10).status_code == 200
        except requests.RequestException:  # not listening yet, or its worker still booting
            return False

    try:
        poll(up, "the other instance did not start", STARTUP_SECONDS)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def service():
    client, secret = client_create(
        name="Service", client_type="confidential", grant="client-credentials", audiences=[API]
    )
    return client.client_id, secret


def signing_kid(base_url, service):
    """The kid of a fresh access token from the instance at base_url."""
    response = requests.post(
        f"{base_url}/token", data={"grant_type": "client_credentials"}, auth=service, timeout=10
    )
    assert response.status_code == 200, response.text
    return jwt.get_unverified_header(response.json()["access_token"])["kid"]


def switched(base_url, service, kid):
    return all(signing_kid(base_url, service) == kid for _ in range(CONSECUTIVE))


def test_a_rotation_in_one_process_is_used_by_the_other(other_instance, service, live_server, settings):
    settings.SIGNET_KEY_RELOAD_SECONDS = RELOAD_SECONDS
    first = services.key_ensure_active().kid
    assert signing_kid(other_instance, service) == first
    assert signing_kid(live_server.url, service) == first

    # Rotated here: the gunicorn workers pick it up through the version stamp.
    rotated_here = services.key_rotate().active.kid
    selectors.invalidate()
    assert signing_kid(live_server.url, service) == rotated_here
    poll(
        lambda: switched(other_instance, service, rotated_here),
        "the other instance never signed with the new key",
    )

    # Rotated by a third process (an operator's `manage.py keys rotate`): both instances follow.
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "keys", "rotate", "--json"],
        cwd=ROOT,
        env=other_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rotated_there = json.loads(result.stdout)["active"]
    assert rotated_there not in (first, rotated_here)
    assert SigningKey.objects.get(state="active").kid == rotated_there
    poll(
        lambda: switched(live_server.url, service, rotated_there),
        "this process never signed with the new key",
    )
    poll(
        lambda: switched(other_instance, service, rotated_there),
        "the other instance never signed with the new key",
    )


def test_a_revocation_in_one_process_is_honoured_by_the_other(other_instance, service):
    first = services.key_ensure_active().kid
    assert signing_kid(other_instance, service) == first
    response = requests.get(f"{other_instance}/jwks", timeout=10)
    assert first in {k["kid"] for k in response.json()["keys"]}
    keys_command("revoke", first)

    def gone():
        return first not in {
            k["kid"] for k in requests.get(f"{other_instance}/jwks", timeout=10).json()["keys"]
        }

    poll(gone, "the other instance kept publishing a revoked key")
    poll(
        lambda: all(signing_kid(other_instance, service) != first for _ in range(CONSECUTIVE)),
        "the other instance kept signing with a revoked key",
    )


def make_rotation_due():
    """Age the ring by two days, as if it had been running that long; every process reloads it."""
    long_ago = timezone.now() - timedelta(days=2)
    SigningKey.objects.filter(state="active").update(created_at=long_ago, activated_at=long_ago)
    SigningKey.objects.filter(state="next").update(created_at=long_ago)
    KeyRingLock.objects.filter(pk=1).update(version=F("version") + 1)


def assert_rotated_once(first, nxt):
    assert SigningKey.objects.get(state="active").kid == nxt
    assert list(SigningKey.objects.filter(state="retired").values_list("kid", flat=True)) == [first]
    assert SigningKey.objects.filter(state="next").count() == 1
    assert AuditEvent.objects.filter(event="key.rotated").count() == 1


def test_instances_finding_a_rotation_due_rotate_once_in_the_background(
    other_instance, service, live_server, settings, monkeypatch
):
    """Two gunicorn workers and this process notice the due rotation in requests; their background
    steps race for the ring lock; one rotates, and every one of them then signs with the new key."""
    threads = []

    def start(target):
        threads.append(real_start_thread(target))
        return threads[-1]

    monkeypatch.setattr(maintenance, "start_thread", start)
    for name, value in SHORT_SCHEDULE.items():
        setattr(settings, name, value)
    settings.SIGNET_KEY_RELOAD_SECONDS = RELOAD_SECONDS
    first = services.key_ensure_active().kid
    nxt = SigningKey.objects.get(state="next").kid
    assert signing_kid(other_instance, service) == first
    assert signing_kid(live_server.url, service) == first

    make_rotation_due()
    poll(lambda: switched(other_instance, service, nxt), "the other instance never rotated")
    poll(lambda: switched(live_server.url, service, nxt), "this process never signed with the new key")
    for thread in threads:
        thread.join(timeout=60)
    assert_rotated_once(first, nxt)


def test_keys_rotate_if_due_in_several_processes_at_once_rotates_once():
    """Cron on every instance, or several containers starting together: one rotation."""
    first = services.key_ensure_active().kid
    nxt = SigningKey.objects.get(state="next").kid
    make_rotation_due()
    processes = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "manage.py", "keys", "rotate", "--if-due", "--json"],
            cwd=ROOT,
            env=other_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        answers.append(json.loads(out))
    assert sum(a["rotated"] for a in answers) == 1
    assert {a["active"] for a in answers} == {nxt}
    assert_rotated_once(first, nxt)
