"""The task queue in tests: the named presets, and a real `manage.py db_worker` against the test database.

The suite runs tasks where they are enqueued (SIGNET_TASKS_BACKEND=immediate in pyproject.toml); a
test of the queue itself switches the provider to DATABASE and runs the worker as its own process,
as production does (PostgreSQL only: a second process cannot reach the SQLite test database).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def current_database_url():
    """The URL of the database this test runs on (the test database pytest-django created)."""
    from django.db import connection

    s = connection.settings_dict
    user = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{user}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """`manage.py db_worker` in its own process, on the test database, with `env` added to its settings."""

    def __init__(self, *, issuer, env=None):
        self.env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "SIGNET_TASKS_BACKEND": "database",
            "OIDC_ISSUER": issuer,
            "SIGNET_READ_DOT_ENV": "false",
            **(env or {}),
        }
        self.process = None
        self.output = ROOT / "test-output" / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self):
        self.output.parent.mkdir(exist_ok=True)
        log = self.output.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition, timeout=60, step=0.05):
    """Poll `condition` until it holds (a deadline against hanging, not a speed check); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)
