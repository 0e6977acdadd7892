import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from provider.oidc.models import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args, stdin=""):
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("clients", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_create_confidential_prints_secret_once_and_stores_only_a_fast_hash():
    data = json.loads(
        run(
            "create",
            "--name",
            "Shop",
            "--type",
            "confidential",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://shop.example.com/cb",
            "--redirect-uri",
            "https://shop.example.com/cb2",
            "--post-logout-redirect-uri",
            "https://shop.example.com/",
            "--scopes",
            "openid email",
            "--json",
        )
    )
    client = Client.objects.get(client_id=data["client_id"])
    secret = data["client_secret"]
    assert len(secret) >= 32
    assert client.client_secret.startswith("signet_sha256$") and secret not in client.client_secret
    assert client.redirect_uris.split() == ["https://shop.example.com/cb", "https://shop.example.com/cb2"]
    assert client.scope_list == ["openid", "email"]
    assert client.algorithm == "RS256"
    listing = run("list", "--json")
    assert secret not in listing and client.client_secret not in listing
    assert json.loads(listing)[0]["client_id"] == client.client_id


def test_operator_supplied_secret_and_client_id():
    secret = "x" * 40
    out = run(
        "create",
        "--name",
        "Batch",
        "--type",
        "confidential",
        "--grant",
        "client-credentials",
        "--client-id",
        "batch-job",
        "--secret-stdin",
        stdin=secret + "\n",
    )
    assert "batch-job" in out and secret not in out  # an operator's own secret is not echoed
    client = Client.objects.get(client_id="batch-job")
    from django.contrib.auth.hashers import check_password

    assert check_password(secret, client.client_secret)


def test_short_operator_secret_is_refused_and_nothing_is_created():
    with pytest.raises(CommandError, match="at least 32"):
        run(
            "create",
            "--name",
            "Weak",
            "--type",
            "confidential",
            "--grant",
            "client-credentials",
            "--secret-stdin",
            stdin="short-secret\n",
        )
    assert Client.objects.count() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--type", "public", "--grant", "client-credentials"], "confidential"),
        (["--type", "confidential", "--grant", "authorization-code"], "redirect"),
        (
            ["--type", "confidential", "--grant", "authorization-code", "--redirect-uri", "not a uri"],
            "redirect",
        ),
    ],
)
def test_bad_arguments_give_one_error_and_create_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("create", "--name", "Bad", *args)
    assert Client.objects.count() == 0


def test_public_client_has_no_secret():
    data = json.loads(
        run(
            "create",
            "--name",
            "SPA",
            "--type",
            "public",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://spa.example.com/cb",
            "--json",
        )
    )
    assert "client_secret" not in data
    assert Client.objects.get(client_id=data["client_id"]).client_secret == ""


def test_delete_and_unknown_delete():
    data = json.loads(
        run("create", "--name", "Tmp", "--type", "confidential", "--grant", "client-credentials", "--json")
    )
    run("delete", data["client_id"])
    assert not Client.objects.exists()
    with pytest.raises(CommandError, match="no client"):
        run("delete", data["client_id"])


def test_cli_error_is_one_line_and_nonzero_exit(tmp_path):
    env = {
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PATH": "/usr/bin:/bin",
        "SIGNET_READ_DOT_ENV": "false",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "clients",
            "create",
            "--name",
            "x",
            "--type",
            "public",
            "--grant",
            "client-credentials",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "CommandError: grant: client-credentials needs a confidential client" in result.stderr
