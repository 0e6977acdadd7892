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
