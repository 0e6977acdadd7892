"""Every refusal of the users and clients commands, run as an operator runs them: one line, no
traceback, a non-zero exit, and nothing created (provider/cli.py, issue 17)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIDENTIAL = ["clients", "create", "--name", "x", "--type", "confidential"]
CODE = [*CONFIDENTIAL, "--grant", "authorization-code", "--redirect-uri", "https://a.example.com/cb"]
CC = [*CONFIDENTIAL, "--grant", "client-credentials"]


@pytest.fixture(scope="module")
def manage(tmp_path_factory):
    database = tmp_path_factory.mktemp("cli") / "cli.sqlite3"
    env = {
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "PATH": "/usr/bin:/bin",
        "SIGNET_READ_DOT_ENV": "false",
        "LOG_LEVEL": "WARNING",
    }

    def run(*args, stdin=""):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("migrate", "-v0").returncode == 0
    assert run("users", "create", "--email", "ada@example.com").returncode == 0
    assert run(*CODE, "--client-id", "shop").returncode == 0
    return run


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        ([*CODE, "--scopes", "openid pay"], "", "scopes: unknown scope(s) pay: Signet issues openid"),
        ([*CC, "--scopes", "openid"], "", "scopes: a client-credentials client acts for itself"),
        (
            ["clients", "create", "--name", "x", "--type", "public", "--grant", "client-credentials"],
            "",
            "grant: client-credentials needs a confidential client",
        ),
        (
            [*CONFIDENTIAL, "--grant", "authorization-code", "--redirect-uri", "not a uri"],
            "",
            "redirect_uris: Not a valid redirect URI: not, a, uri.",
        ),
        (["clients", "update", "shop", "--scopes", "admin"], "", "scopes: unknown scope(s) admin"),
        (["clients", "update", "nope", "--name", "y"], "", "no client with id 'nope'"),
        (["clients", "rotate-secret", "nope"], "", "no client with id 'nope'"),
        (["users", "disable", "nobody@example.com"], "", "no user 'nobody@example.com'"),
        (
            ["users", "set-password", "ada@example.com", "--password-stdin"],
            "123\n",
            "This password is too short",
        ),
        (["users", "set-password", "ada@example.com"], "", "standard input is not a terminal"),
        (["users", "delete", "ada@example.com"], "", "pass --yes to confirm"),
    ],
)
def test_a_refusal_is_one_line_with_a_non_zero_exit(manage, args, stdin, message):
    result = manage(*args, stdin=stdin)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("CommandError: ") and message in lines[0], lines[0]
    clients = json.loads(manage("clients", "list", "--json").stdout)
    assert [c["client_id"] for c in clients] == ["shop"]
    assert json.loads(manage("users", "show", "ada@example.com", "--json").stdout)["active"] is True
