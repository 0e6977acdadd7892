"""gunicorn preloads Signet in its master and forks the workers from it (provider/gunicorn_conf.py), so
they share the imported code's memory. That is only safe while loading opens no connection a forked
worker would share with the master and its siblings: loading provider.wsgi here, in a fresh process,
points the database and Redis at closed ports, so any connection attempt fails the import.
"""

import gc
import socket
import subprocess
import sys
from pathlib import Path

from provider import gunicorn_conf
from tests.provider.test_settings import REQUIRED

ROOT = Path(__file__).resolve().parents[2]

LOAD = """
import sys
import provider.wsgi
from django.db import connections
loaded = [name for name in sys.argv[1:] if name not in sys.modules]
opened = [c.alias for c in connections.all() if c.connection is not None]
print("missing", loaded, "opened", opened)
"""

# What a worker's requests need, which the master must already hold to share it.
VIEW_MODULES = (
    "provider.oidc.endpoints.token",
    "provider.oidc.endpoints.userinfo",
    "provider.oidc.endpoints.introspect",
    "provider.oidc.authorization",
    "accounts.views",
)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_loading_the_application_imports_the_views_and_connects_to_nothing():
    port = closed_port()
    env = {
        **REQUIRED,
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "provider.settings",
        "SIGNET_READ_DOT_ENV": "false",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://signet@127.0.0.1:{port}/signet",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "SIGNET_METRICS": "on",
        "SIGNET_METRICS_TOKEN": "metrics-scraper-secret-0123456789abcdef",
    }
    command = [sys.executable, "-c", LOAD, *VIEW_MODULES]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "missing [] opened []"


def test_the_collector_leaves_the_preloaded_objects_alone_in_the_workers():
    try:
        gunicorn_conf.pre_fork(server=None, worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
