import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run(*args, stdin=""):
    out = io.StringIO()
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("users", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_create_with_password_from_stdin_prints_json():
    out = run(
        "create",
        "--email",
        "ann@example.com",
        "--first-name",
        "Ann",
        "--password-stdin",
        "--json",
        stdin="a-Long-and-unusual-password-9\n",
    )
    data = json.loads(out)
    user = get_user_model().objects.get(email="ann@example.com")
    assert data == {"id": str(user.pk), "email": "ann@example.com", "superuser": False}
    assert user.first_name == "Ann"
    assert user.check_password("a-Long-and-unusual-password-9")


def test_superuser_flag():
    run(
        "create",
        "--email",
        "root@example.com",
        "--superuser",
        "--password-stdin",
        stdin="Zq8-very-long-secret\n",
    )
    assert get_user_model().objects.get(email="root@example.com").is_superuser


def test_weak_password_is_refused_and_nothing_is_created():
    with pytest.raises(CommandError, match="password"):
        run("create", "--email", "weak@example.com", "--password-stdin", stdin="123\n")
    assert not get_user_model().objects.filter(email="weak@example.com").exists()


def test_duplicate_email_is_refused_case_insensitively():
    run("create", "--email", "dup@example.com")
    with pytest.raises(CommandError, match="already exists"):
        run("create", "--email", "DUP@example.com")
    assert get_user_model().objects.filter(email__iexact="dup@example.com").count() == 1


def test_invalid_email_is_refused():
    with pytest.raises(CommandError, match="email"):
        run("create", "--email", "not-an-email")
    assert get_user_model().objects.count() == 0


def test_empty_stdin_is_an_error():
    with pytest.raises(CommandError, match="no password"):
        run("create", "--email", "x@example.com", "--password-stdin", stdin="")
    assert get_user_model().objects.count() == 0


# --- list, show, disable, enable, set-password, delete; every change audited with the operator ------


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user(
        "ada@example.com", "an old passphrase 42", first_name="Ada", last_name="Lovelace"
    )


def events(name):
    from provider.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(event=name))


def test_creating_a_superuser_is_audited_with_the_os_user_as_actor(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    data = json.loads(run("create", "--email", "root@example.com", "--superuser", "--json"))
    [event] = events("user.created")
    assert event.actor == "cli:alice"
    assert event.data == {"user": data["id"], "email": "root@example.com", "superuser": True}


def test_actor_option_names_the_operator(ada):
    run("disable", "ada@example.com", "--actor", "bob")
    assert [e.actor for e in events("user.disabled")] == ["cli:bob"]


def test_actor_falls_back_to_the_uid_without_a_user_name(monkeypatch, ada):
    def no_name():
        raise KeyError("getpwuid(): uid not found")

    monkeypatch.setattr("getpass.getuser", no_name)
    run("disable", "ada@example.com")
    assert events("user.disabled")[0].actor.startswith("cli:uid")


def test_list_and_show_as_json_and_text(ada, django_user_model):
    django_user_model.objects.create_user("zed@example.com", is_active=False)
    rows = json.loads(run("list", "--json"))
    assert [r["email"] for r in rows] == ["ada@example.com", "zed@example.com"]
    assert rows[0]["id"] == str(ada.pk) and rows[1]["active"] is False
    assert [r["email"] for r in json.loads(run("list", "--disabled", "--json"))] == ["zed@example.com"]
    assert [r["email"] for r in json.loads(run("list", "--search", "LOVE", "--json"))] == ["ada@example.com"]
    assert "zed@example.com (disabled)" in run("list")
    shown = json.loads(run("show", str(ada.pk), "--json"))
    assert shown["email"] == "ada@example.com" and shown["first_name"] == "Ada"
    assert "password" not in json.dumps(shown)
    assert f"id: {ada.pk}" in run("show", "ADA@example.com")


def test_unknown_user_is_one_error():
    with pytest.raises(CommandError, match="no user 'nobody@example.com'"):
        run("show", "nobody@example.com")


def test_disable_and_enable_are_audited_and_say_when_nothing_changed(ada):
    data = json.loads(run("disable", "ada@example.com", "--json"))
    assert data == {"id": str(ada.pk), "email": "ada@example.com", "active": False, "changed": True}
    ada.refresh_from_db()
    assert not ada.is_active
    assert "already disabled" in run("disable", "ada@example.com")
    assert len(events("user.disabled")) == 1
    run("enable", "ada@example.com")
    ada.refresh_from_db()
    assert ada.is_active and len(events("user.enabled")) == 1


def test_disable_ends_the_users_browser_sessions_only(ada, django_user_model, client):
    from django.contrib.sessions.models import Session

    other = django_user_model.objects.create_user("bea@example.com", "bea's passphrase 1")
    client.force_login(ada)
    from django.test import Client as HttpClient

    HttpClient().force_login(other)
    assert Session.objects.count() == 2
    run("disable", "ada@example.com")
    [left] = Session.objects.all()
    assert left.get_decoded()["_auth_user_id"] == str(other.pk)


def test_set_password_from_stdin_is_validated_and_audited(ada):
    with pytest.raises(CommandError, match="too common|too short"):
        run("set-password", "ada@example.com", "--password-stdin", stdin="password\n")
    ada.refresh_from_db()
    assert ada.check_password("an old passphrase 42")
    data = json.loads(
        run("set-password", "ada@example.com", "--password-stdin", "--json", stdin="a fresh passphrase 77\n")
    )
    assert data == {"id": str(ada.pk), "email": "ada@example.com", "password_set": True}
    ada.refresh_from_db()
    assert ada.check_password("a fresh passphrase 77")
    [event] = events("user.password_set")
    assert event.actor.startswith("cli:") and "a fresh passphrase" not in json.dumps(event.data)
    # The same receivers as the user's own change: one event names what it ended.
    assert events("token.password_changed")[0].data["reason"] == "admin"


def test_set_password_prompts_twice(ada, monkeypatch):
    answers = iter(["a typed passphrase 31", "a typed passphrase 31"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin", _Tty())
    call_command("users", "set-password", "ada@example.com", stdout=io.StringIO())
    ada.refresh_from_db()
    assert ada.check_password("a typed passphrase 31")


def test_set_password_refuses_two_different_answers(ada, monkeypatch):
    answers = iter(["a typed passphrase 31", "a typo passphrase 31"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr("sys.stdin", _Tty())
    with pytest.raises(CommandError, match="differ"):
        call_command("users", "set-password", "ada@example.com", stdout=io.StringIO())
    ada.refresh_from_db()
    assert ada.check_password("an old passphrase 42")


def test_set_password_without_a_terminal_asks_for_stdin(ada):
    with pytest.raises(CommandError, match="--password-stdin"):
        run("set-password", "ada@example.com")


def test_set_password_is_never_an_argument(ada):
    with pytest.raises(CommandError, match="unrecognized arguments"):
        run("set-password", "ada@example.com", "--password", "a fresh passphrase 77")


def test_delete_asks_unless_yes(ada, monkeypatch):
    with pytest.raises(CommandError, match="--yes"):
        run("delete", "ada@example.com")  # no terminal to ask on
    monkeypatch.setattr("sys.stdin", _Tty())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="not deleted"):
        call_command("users", "delete", "ada@example.com", stdout=io.StringIO())
    assert get_user_model().objects.filter(pk=ada.pk).exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("users", "delete", "ada@example.com", stdout=io.StringIO())
    assert not get_user_model().objects.filter(pk=ada.pk).exists()
    assert events("user.deleted")[0].data == {"user": str(ada.pk), "email": "ada@example.com"}


def test_delete_with_yes_prints_json(ada):
    assert json.loads(run("delete", str(ada.pk), "--yes", "--json")) == {
        "deleted": str(ada.pk),
        "email": "ada@example.com",
    }
    assert not get_user_model().objects.exists()


class _Tty(io.StringIO):
    def isatty(self):
        return True
