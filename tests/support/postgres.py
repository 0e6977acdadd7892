"""A throwaway PostgreSQL server of our own (initdb + pg_ctl on a temporary directory and a free port).

Tests that must break the database (stop it, start it again) use this instead of the shared server.
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable_reason():
    """Why a server of our own can't be had here, or None."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


class ThrowawayPostgres:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="signet-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run(["initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args):
        if self._as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(["pg_ctl", "-D", self.data, "-o", options, "-l", self.log, "-w", "start"])

    def stop(self):
        self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"])

    def destroy(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
