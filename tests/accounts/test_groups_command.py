"""`manage.py groups`: create, list, show, add, remove, delete; --json; every change audited;
refusals are one line and change nothing. `clients create|update` restrict a client to groups."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from provider.audit.models import AuditEvent
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(command, *args):
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def groups(*args):
    return run("groups", *args, "--actor", "ops")


def events(name):
    return list(AuditEvent.objects.filter(event=name).order_by("id"))


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob@example.com", "x" * 20)


def test_create_add_show_remove_with_json_and_audit(user, bob):
    assert json.loads(groups("create", "admins", "--json")) == {"name": "admins", "created": True}
    added = json.loads(groups("add", "admins", "alice@example.com", str(bob.pk), "--json"))

    assert added == {"group": "admins", "added": ["alice@example.com", "bob@example.com"]}
    assert sorted(user.groups.values_list("name", flat=True)) == ["admins"]
    shown = json.loads(groups("show", "admins", "--json"))
    assert shown == {"name": "admins", "members": ["alice@example.com", "bob@example.com"], "clients": []}

    removed = json.loads(groups("remove", "admins", "bob@example.com", "--json"))
    assert removed == {"group": "admins", "removed": ["bob@example.com"]}
    assert not bob.groups.exists()

    assert [e.data["group"] for e in events("group.created")] == ["admins"]
    assert [e.data["email"] for e in events("group.member_added")] == ["alice@example.com", "bob@example.com"]
    assert [(e.data["email"], e.actor) for e in events("group.member_removed")] == [
        ("bob@example.com", "cli:ops")
    ]


def test_adding_a_member_twice_changes_and_audits_nothing(user):
    groups("create", "admins")
    groups("add", "admins", "alice@example.com")

    assert "nothing to change" in groups("add", "admins", "alice@example.com")
    assert len(events("group.member_added")) == 1


def test_list_counts_members_and_clients(user):
    groups("create", "staff")
    groups("create", "admins")
    groups("add", "admins", "alice@example.com")

    assert json.loads(groups("list", "--json")) == [
        {"name": "admins", "members": 1, "clients": 0},
        {"name": "staff", "members": 0, "clients": 0},
    ]
    assert groups("list").splitlines()[0] == "admins  1 member(s), 0 client(s)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "nobody", "alice@example.com"], "no group named 'nobody'"),
        (["remove", "nobody", "alice@example.com"], "no group named 'nobody'"),
        (["show", "nobody"], "no group named 'nobody'"),
        (["delete", "nobody"], "no group named 'nobody'"),
        (["add", "admins", "alice@example.com", "ghost@example.com"], "no user 'ghost@example.com'"),
        (["create", "admins"], "a group named 'admins' already exists"),
        (["create", "  "], "a group needs a name"),
    ],
)
def test_refusals_change_nothing(user, args, message):
    groups("create", "admins")

    with pytest.raises(CommandError, match=message):
        groups(*args)

    assert not user.groups.exists()  # "alice" was not added even though she exists
    assert Group.objects.count() == 1
    assert not events("group.member_added")


def test_a_group_a_client_is_restricted_to_cannot_be_deleted(user):
    groups("create", "admins")
    client_id = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "Wiki",
            "--type",
            "confidential",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://wiki.example.com/cb",
            "--allowed-group",
            "admins",
            "--json",
        )
    )["client_id"]

    with pytest.raises(CommandError, match=f"clients are restricted to 'admins': {client_id}"):
        groups("delete", "admins")

    assert Group.objects.filter(name="admins").exists()
    run("clients", "update", client_id, "--no-allowed-groups")
    assert groups("delete", "admins") == "deleted group admins\n"
    assert [e.data["group"] for e in events("group.deleted")] == ["admins"]


def test_clients_create_and_update_set_groups_and_the_access_token_claim():
    for name in ("admins", "staff"):
        groups("create", name)
    created = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "Wiki",
            "--type",
            "confidential",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://wiki.example.com/cb",
            "--scopes",
            "openid groups",
            "--allowed-group",
            "staff",
            "--groups-in-access-token",
            "--json",
        )
    )
    assert created["scopes"] == ["openid", "groups"]  # the groups scope is known now
    assert created["allowed_groups"] == ["staff"] and created["groups_claim"] is True
    client_id = created["client_id"]

    updated = json.loads(
        run(
            "clients",
            "update",
            client_id,
            "--allowed-group",
            "admins",
            "--allowed-group",
            "staff",
            "--no-groups-in-access-token",
            "--json",
        )
    )

    assert updated["allowed_groups"] == ["admins", "staff"] and updated["groups_claim"] is False
    assert sorted(updated["changed"]) == ["allowed_groups", "groups_in_access_token"]
    client = Client.objects.get(client_id=client_id)
    assert not client.groups_in_access_token
    assert events("client.updated")[-1].data["fields"] == updated["changed"]
    assert "nothing changed" in run(
        "clients", "update", client_id, "--allowed-group", "staff", "--allowed-group", "admins"
    )


def test_an_unknown_allowed_group_is_refused_and_changes_nothing():
    groups("create", "staff")
    client_id = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "Wiki",
            "--type",
            "public",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://wiki.example.com/cb",
            "--json",
        )
    )["client_id"]

    with pytest.raises(CommandError, match="allowed_groups: no group named 'ghosts'"):
        run(
            "clients",
            "update",
            client_id,
            "--name",
            "Renamed",
            "--allowed-group",
            "staff",
            "--allowed-group",
            "ghosts",
        )
    with pytest.raises(CommandError, match="no group named 'ghosts'"):
        run(
            "clients",
            "create",
            "--name",
            "Other",
            "--type",
            "public",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://o.example.com/cb",
            "--allowed-group",
            "ghosts",
        )

    client = Client.objects.get(client_id=client_id)
    assert client.name == "Wiki" and not client.allowed_groups.exists()
    assert Client.objects.count() == 1


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

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "groups", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert manage("create", "admins").returncode == 0
    for args, message in (
        (["add", "nobody", "a@example.com"], "CommandError: no group named 'nobody'"),
        (["add", "admins", "a@example.com"], "CommandError: no user 'a@example.com'"),
    ):
        result = manage(*args)
        assert result.returncode != 0
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert message in result.stderr
