"""Throwaway infrastructure for the reliability suite, all on free loopback ports.

- `ThrowawayPostgres` (tests/support/postgres.py): a private PostgreSQL cluster, so a test may stop,
  crash and restart it without touching the machine's shared server.
- `RedisServer`: a private redis-server that a test may kill.
- `Gunicorn`: a provider (or sample API) instance as its own process, with its log in a file.

Nothing here reads Signet's settings: each process gets its configuration through its environment,
exactly as a deployment would.
"""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.postgres import free_port

BASE_DIR = Path(__file__).resolve().parents[2]


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if the test process dies, so a killed run leaves no server."""
    # Not Linux: no such call; the fixtures' teardown still stops everything on a normal exit.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_until(predicate, *, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as e:  # noqa: BLE001 - keep polling; report the last error on timeout
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout}s (last error: {last_error!r})")


def redis_available():
    return shutil.which("redis-server") is not None


class RedisServer:
    """redis-server on a free port, nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        wait_until(self._ping, timeout=10, what="redis up")

    def _ping(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class Gunicorn:
    """One WSGI application in its own gunicorn process; stdout and stderr go to `log_path`."""

    def __init__(self, app, *, env, log_path, port=None, workers=2, threads=4, ready_path="/healthz"):
        self.app = app
        self.env = env
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.ready_path = ready_path
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                self.app,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                # Longer than any pause in the load: a client reusing a connection the server has
                # just closed as idle gets no answer (a client-side race, not a provider failure).
                "--keep-alive",
                "75",
                "--access-logfile",
                "-",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        wait_until(self._ready, timeout=60, interval=0.2, what=f"{self.app} on {self.url}")

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.app} exited: see {self.log_path}:\n{self.read_log()[-3000:]}")
        return requests.get(self.url + self.ready_path, timeout=2).status_code < 500

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def read_log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _python(argv, *, env, stdin, timeout, what):
    """Run this interpreter with `argv` in the project folder; the completed process (checked)."""
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout}\n{result.stderr}")
    return result


def manage(*args, env, stdin=None, timeout=180):
    """Run `manage.py` with the given environment; returns the completed process (checked)."""
    return _python(
        ["manage.py", *args], env=env, stdin=stdin, timeout=timeout, what=f"manage.py {' '.join(args)}"
    )


def run_script(module, *, env, stdin="", timeout=180):
    """Run `python -m module` (a helper that sets Django up itself); return its `RESULT` line's JSON."""
    result = _python(["-m", module], env=env, stdin=stdin, timeout=timeout, what=f"python -m {module}")
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"python -m {module} printed no RESULT line:\n{result.stdout}")
