"""A throwaway PostgreSQL server of our own (initdb + pg_ctl on a temporary directory and a free port).

Tests that must break the database (stop it, crash it, start it again) use this instead of the
shared server: the deployment test and the reliability suite. PostgreSQL refuses to run as root: as
root, the server runs as the `postgres` system user.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindir():
    """Debian keeps initdb and pg_ctl off the PATH, in /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if candidates:
        return Path(candidates[-1])
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path and shutil.which("pg_ctl") else None


def unavailable_reason():
    """Why a server of our own can't be had here, or None."""
    if _bindir() is None:
        return "initdb and pg_ctl are neither in /usr/lib/postgresql/*/bin nor on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


class ThrowawayPostgres:
    """A private cluster: trust auth on 127.0.0.1 only, fsync off (thrown away; crashed, never the OS)."""

    def __init__(self):
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="signet-pg-"))
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
