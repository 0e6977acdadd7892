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


# --- show, update, disable, enable, rotate-secret; refusals; every change audited ---------------


def events(name):
    from provider.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(event=name))


def make(*args):
    return json.loads(
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
            *args,
            "--json",
        )
    )


def test_create_is_audited_with_the_operator_and_no_secret(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    data = make()
    [event] = events("client.created")
    assert (event.actor, event.client_id) == ("cli:alice", data["client_id"])
    assert data["client_secret"] not in json.dumps(event.data)


def test_a_client_credentials_client_gets_no_user_scopes_by_default():
    data = json.loads(
        run("create", "--name", "Job", "--type", "confidential", "--grant", "client-credentials", "--json")
    )
    assert data["scopes"] == []
    assert Client.objects.get(client_id=data["client_id"]).allowed_scopes == ""
    assert make()["scopes"] == ["openid", "profile", "email", "offline_access"]  # sign-in grants keep theirs


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grant", "authorization-code", "--scopes", "openid admin"], "unknown scope.s. admin"),
        (["--grant", "authorization-code", "--scopes", "openid payments"], "unknown scope.s. payments"),
        (["--grant", "client-credentials", "--scopes", "openid"], "no user scopes .openid."),
        (["--grant", "client-credentials", "--scopes", "profile offline_access"], "profile, offline_access"),
    ],
)
def test_scopes_signet_cannot_issue_to_that_grant_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        run(
            "create",
            "--name",
            "Bad",
            "--type",
            "confidential",
            "--redirect-uri",
            "https://a.example/cb",
            *args,
        )
    assert not Client.objects.exists()


def test_a_bad_redirect_uri_is_one_error_naming_it():
    with pytest.raises(CommandError) as caught:
        make("--redirect-uri", "not a uri")
    message = str(caught.value)
    assert message.count("redirect_uris:") == 1, message
    assert "Not a valid redirect URI: not, a, uri." in message


def test_show_never_shows_the_secret():
    data = make()
    shown = json.loads(run("show", data["client_id"], "--json"))
    assert shown == {k: v for k, v in data.items() if k != "client_secret"}
    text = run("show", data["client_id"])
    assert f"client_id: {data['client_id']}" in text and data["client_secret"] not in text
    with pytest.raises(CommandError, match="no client with id 'nope'"):
        run("show", "nope")


def test_update_changes_only_what_is_given_and_is_audited():
    client_id = make("--scopes", "openid email", "--access-token-lifetime", "600")["client_id"]
    data = json.loads(
        run(
            "update",
            client_id,
            "--name",
            "Shop 2",
            "--add-redirect-uri",
            "https://shop.example.com/cb2",
            "--scopes",
            "openid profile",
            "--audience",
            "https://api.example.com",
            "--id-token-lifetime",
            "120",
            "--access-token-lifetime",
            "default",
            "--skip-consent",
            "--actor",
            "bob",
            "--json",
        )
    )
    assert data["name"] == "Shop 2"
    assert data["redirect_uris"] == ["https://shop.example.com/cb", "https://shop.example.com/cb2"]
    assert data["scopes"] == ["openid", "profile"] and data["audiences"] == ["https://api.example.com"]
    assert (data["id_token_lifetime"], data["access_token_lifetime"]) == (120, None)
    assert data["skip_consent"] is True
    client = Client.objects.get(client_id=client_id)
    assert client.name == "Shop 2" and client.skip_authorization and client.access_token_lifetime is None
    [event] = events("client.updated")
    assert event.actor == "cli:bob" and event.client_id == client_id
    assert set(event.data["fields"]) == {
        "name",
        "redirect_uris",
        "allowed_scopes",
        "audiences",
        "id_token_lifetime",
        "access_token_lifetime",
        "skip_authorization",
    }


def test_update_replaces_and_removes_redirect_uris():
    client_id = make("--redirect-uri", "https://shop.example.com/cb2")["client_id"]
    run("update", client_id, "--remove-redirect-uri", "https://shop.example.com/cb")
    assert Client.objects.get(client_id=client_id).redirect_uris == "https://shop.example.com/cb2"
    run(
        "update",
        client_id,
        "--redirect-uri",
        "https://new.example.com/a",
        "--redirect-uri",
        "https://new.example.com/b",
    )
    assert (
        Client.objects.get(client_id=client_id).redirect_uris
        == "https://new.example.com/a https://new.example.com/b"
    )
    with pytest.raises(CommandError, match="https://gone.example.com/ not registered"):
        run("update", client_id, "--remove-redirect-uri", "https://gone.example.com/")


def test_update_with_nothing_new_changes_nothing_and_audits_nothing():
    client_id = make()["client_id"]
    assert "nothing changed" in run("update", client_id, "--name", "Shop")
    assert events("client.updated") == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scopes", "openid payments"], "unknown scope"),
        (["--redirect-uri", "ftp://x.example.com/"], "Not a valid redirect URI: ftp://x.example.com/"),
        (["--access-token-lifetime", "0"], "positive"),
        (["--access-token-lifetime", "soon"], "neither a number of seconds nor 'default'"),
        (["--remove-redirect-uri", "https://shop.example.com/cb"], "redirect_uris cannot be empty"),
    ],
)
def test_update_refusals_change_nothing(args, message):
    client_id = make()["client_id"]
    before = _row_of(client_id)
    with pytest.raises(CommandError, match=message):
        run("update", client_id, *args)
    assert _row_of(client_id) == before and events("client.updated") == []


def test_update_refuses_user_scopes_for_a_client_credentials_client():
    data = json.loads(
        run("create", "--name", "Job", "--type", "confidential", "--grant", "client-credentials", "--json")
    )
    with pytest.raises(CommandError, match="no user scopes"):
        run("update", data["client_id"], "--scopes", "email")


def _row_of(client_id):
    return json.loads(run("show", client_id, "--json"))


def test_disable_and_enable_are_audited_once():
    client_id = make()["client_id"]
    assert json.loads(run("disable", client_id, "--json")) == {
        "client_id": client_id,
        "active": False,
        "changed": True,
    }
    assert not Client.objects.get(client_id=client_id).is_active
    assert "already disabled" in run("disable", client_id)
    assert "(disabled) Shop" in run("list")
    run("enable", client_id)
    assert Client.objects.get(client_id=client_id).is_active
    assert (len(events("client.disabled")), len(events("client.enabled"))) == (1, 1)


def test_rotate_secret_prints_it_once_and_stores_only_its_hash():
    from django.contrib.auth.hashers import check_password

    data = make()
    rotated = json.loads(run("rotate-secret", data["client_id"], "--json"))
    client = Client.objects.get(client_id=data["client_id"])
    assert rotated["client_secret"] != data["client_secret"] and len(rotated["client_secret"]) >= 32
    assert check_password(rotated["client_secret"], client.client_secret)
    assert rotated["client_secret"] not in client.client_secret
    assert not check_password(data["client_secret"], client.client_secret)
    [event] = events("client.secret_regenerated")
    assert rotated["client_secret"] not in json.dumps(event.data)
    assert "client_secret: " in run("rotate-secret", data["client_id"])


def test_a_public_client_has_no_secret_to_rotate():
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
    with pytest.raises(CommandError, match="public clients have no secret"):
        run("rotate-secret", data["client_id"])
    assert Client.objects.get(client_id=data["client_id"]).client_secret == ""


def test_delete_is_audited():
    client_id = make()["client_id"]
    run("delete", client_id, "--actor", "carol")
    [event] = events("client.deleted")
    assert (event.actor, event.client_id, event.data) == ("cli:carol", client_id, {"name": "Shop"})


def test_list_columns_line_up_whatever_the_lengths_of_ids_and_grant_names():
    from provider.oidc.services import client_create

    # The device grant's 44-character URN and ids of different lengths used to push later columns
    # right on their rows only.
    client_create(name="TV", client_type="public", grant="device-code", client_id="tv")
    client_create(
        name="Shop",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=["https://shop.example.com/cb"],
        client_id="a-much-longer-client-id-for-the-shop",
    )
    client_create(name="Batch", client_type="confidential", grant="client-credentials", client_id="batch-1")
    Client.objects.filter(name="Batch").update(is_active=False)
    lines = run("list").splitlines()
    assert len(lines) == 3
    by_name = {line.rsplit(None, 1)[-1]: line for line in lines}
    device = by_name["TV"]
    assert Client.GRANT_DEVICE_CODE in device and len(Client.GRANT_DEVICE_CODE) == 44
    # Each column starts at the same offset on every row: the type, the grant, then the name.
    types_at = {line.index(t) for line in lines for t in ("public ", "confidential ") if t in line}
    grants_at = {
        line.index(g)
        for line in lines
        for g in ("authorization-code", "client-credentials", Client.GRANT_DEVICE_CODE)
        if g in line
    }
    names_at = {line.index(n) for line, n in zip(lines, ("(disabled) Batch", "Shop", "TV"), strict=True)}
    assert len(types_at) == len(grants_at) == len(names_at) == 1, lines
    # Two spaces between columns at the widest, and nothing after the name.
    assert "a-much-longer-client-id-for-the-shop  confidential" in by_name["Shop"]
    assert f"{Client.GRANT_DEVICE_CODE}  TV" in device
    assert all(line == line.rstrip() for line in lines)
