"""The embedded default (a SQLite file) under concurrent writers: two requests racing for one
authorization code give one token response and one invalid_grant, never "database is locked" (a
500). SQLite's default DEFERRED transactions both read, and the second to upgrade its lock was
refused at once; provider/settings.py makes them take the write lock at BEGIN (IMMEDIATE)."""

import base64
import os
import secrets

import pytest
from django.db import connection

from .stack import run_script

ROUNDS = 25


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="the embedded default: SQLite only"
)
def test_two_exchanges_of_one_code_on_a_sqlite_file(tmp_path):
    assert connection.vendor == "sqlite"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "provider.settings",
        "SIGNET_READ_DOT_ENV": "false",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SIGNET_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "testserver",
        "OIDC_ISSUER": "http://testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'signet.sqlite3'}",
        "SIGNET_SIGNING_ALGS": "RS256,ES256",  # the fixtures' ES256 client
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    rounds = run_script("tests.reliability.sqlite_race", env={**env, "RACE_ROUNDS": str(ROUNDS)}, timeout=300)
    assert rounds == [["200", "invalid_grant"]] * ROUNDS
