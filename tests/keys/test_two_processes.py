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
from pathlib import Path

import jwt
import pytest
import requests
from django.db import connection

from keys import selectors, services
from keys.models import SigningKey
from provider.oidc.services import client_create
from tests.keys.http import API, keys_command

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
RELOAD_SECONDS = 1
DEADLINE_SECONDS = RELOAD_SECONDS + 20  # a loaded CI machine, not the claim itself
STARTUP_SECONDS = 90  # gunicorn importing Django twice on a busy 2-core machine
CONSECUTIVE = 10  # answers in a row carrying the new kid: every worker has switched


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
