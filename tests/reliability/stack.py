"""Throwaway infrastructure for the reliability suite, all on free loopback ports.

- `PostgresServer`: a private PostgreSQL cluster (initdb + pg_ctl on a temporary directory), so a test
  may stop and restart it without touching the machine's shared server.
- `RedisServer`: a private redis-server that a test may kill.
- `Gunicorn`: a provider (or sample API) instance as its own process, with its log in a file.

Nothing here reads Signet's settings: each process gets its configuration through its environment,
exactly as a deployment would.
"""

import contextlib
import ctypes
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parents[2]


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if the test process dies, so a killed run leaves no server."""
    # Not Linux: no such call; the fixtures' teardown still stops everything on a normal exit.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _postgres_bindir():
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not candidates:
        return None
    return Path(candidates[-1])


def postgres_available():
    return _postgres_bindir() is not None


def redis_available():
    return shutil.which("redis-server") is not None


class PostgresServer:
    """A private cluster: trust auth on 127.0.0.1 only, fsync off (thrown away; crashed, never the OS)."""

    def __init__(self):
        self.bindir = _postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="signet-rel-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        # initdb refuses to run as root: run the server as the postgres system user then.
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._pg(
            ["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        )

    def _pg(self, argv, check=True):
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self):
        # fsync off: only the server process is ever crashed, never the machine, so what reached the
        # OS survives. synchronous_commit stays on: a commit acknowledged to Signet must survive a
        # crash, or the crash test would count tokens lost that Signet had every right to hand out.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg(
            ["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"]
        )

    def stop(self, mode="fast"):
        """`immediate` is a crash: no checkpoint, in-flight transactions lost, recovery at next start."""
        self._pg(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"], check=False)

    def is_running(self):
        return self._pg(["pg_ctl", "-D", str(self.data), "status"], check=False).returncode == 0

    def url(self, dbname):
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, sql, dbname="postgres"):
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        ) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else None

    def destroy(self):
        if self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


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


def manage(*args, env, stdin=None, timeout=180):
    """Run `manage.py` with the given environment; returns the completed process (checked)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def run_script(module, *, env, stdin="", timeout=180):
    """Run `python -m module` (a helper that sets Django up itself); return its `RESULT` line's JSON."""
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m {module} failed:\n{result.stdout}\n{result.stderr}")
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"python -m {module} printed no RESULT line:\n{result.stdout}")
