"""Operator commands take identifiers that begin with '-' (issue 13, item 1).

A kid is an RFC 7638 thumbprint in base64url: about one in 64 begins with '-', which plain argparse
reads as an unknown option. The kid here is made to begin with '-' on purpose, not by luck.
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from keys import crypto
from keys.models import SigningKey
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(command, *args, stdin=""):
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(command, *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


@pytest.fixture(autouse=True)
def _signing_keys():
    """An empty key ring (tests/conftest.py provisions one): `keys ensure` makes the dash key active."""


@pytest.fixture(scope="module")
def dash_key():
    """A real RSA key whose thumbprint begins with '-': searched for, so the outcome never varies.

    1024-bit keys keep the search short (about 64 draws on average); the cap makes a miss impossible
    in practice ((63/64)**3000 < 1e-20) rather than a silent pass.
    """
    for _ in range(3000):
        generated = crypto.generate_rsa_key(1024)
        if generated[0].startswith("-"):
            return generated
    raise AssertionError("no thumbprint beginning with '-' in 3000 keys")


@pytest.fixture
def dash_kid(dash_key, monkeypatch):
    # The first key made (the active one) is the dash key; the next key is an ordinary one.
    queue = [dash_key]
    real = crypto.generate_rsa_key
    monkeypatch.setattr("keys.crypto.generate_rsa_key", lambda size: queue.pop() if queue else real(size))
    kid = json.loads(run("keys", "ensure", "--json"))["kid"]
    assert kid.startswith("-")
    return kid


@pytest.mark.parametrize("separator", [[], ["--"]], ids=["as-is", "after-double-dash"])
def test_keys_show_list_and_revoke_a_kid_that_begins_with_a_dash(dash_kid, separator):
    shown = json.loads(run("keys", "show", "--json", *separator, dash_kid))
    assert shown["kid"] == dash_kid and shown["state"] == "active"
    assert dash_kid in run("keys", "list")
    revoked = json.loads(run("keys", "revoke", "--json", *separator, dash_kid))
    assert revoked["kid"] == dash_kid and revoked["state"] == "revoked"
    assert SigningKey.objects.get(kid=dash_kid).state == SigningKey.State.REVOKED


def test_the_help_shows_how_to_pass_a_value_that_begins_with_a_dash():
    result = subprocess.run(
        [sys.executable, "manage.py", "keys", "revoke", "--help"],
        cwd=ROOT,
        env={"DEBUG": "true", "PATH": "/usr/bin:/bin", "SIGNET_READ_DOT_ENV": "false"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "keys revoke -- -UYf" in text and "--option=VALUE" in text


CLIENT = ["--name", "Dash", "--type", "confidential", "--grant", "client-credentials", "--json"]


@pytest.mark.parametrize(
    "client_id_args",
    [["--client-id", "-dash-client"], ["--client-id=-dash-client"]],
    ids=["separate", "equals"],
)
def test_clients_create_list_and_delete_a_client_id_that_begins_with_a_dash(client_id_args):
    created = json.loads(run("clients", "create", *CLIENT, *client_id_args))
    assert created["client_id"] == "-dash-client"
    assert any(c["client_id"] == "-dash-client" for c in json.loads(run("clients", "list", "--json")))
    assert json.loads(run("clients", "delete", "-dash-client", "--json")) == {"deleted": "-dash-client"}
    assert not Client.objects.filter(client_id="-dash-client").exists()


def test_users_create_an_email_that_begins_with_a_dash():
    created = json.loads(run("users", "create", "--email", "-ada@example.com", "--json"))
    assert created["email"] == "-ada@example.com"


def test_an_unknown_option_is_still_refused():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unrecognized arguments: --bogus"):
        run("clients", "list", "--bogus")
