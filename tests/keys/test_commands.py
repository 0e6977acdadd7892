"""`manage.py keys`: list, rotate [--if-due], revoke, ensure, reencrypt, purge, with --json."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keys import selectors
from keys.management.commands.keys import Command
from keys.models import SigningKey
from tests.keys.conftest import OTHER_KEK, SHORT_SCHEDULE

pytestmark = pytest.mark.django_db
State = SigningKey.State


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_json(*args):
    return json.loads(run(*args, "--json")[0])


def assert_no_private_material(text):
    for key in SigningKey.objects.exclude(encrypted_private_jwk=""):
        assert key.encrypted_private_jwk not in text
        private = selectors.key_by_kid(key.kid)
        if private is not None:
            assert private.private_jwk.export_private(as_dict=True)["d"] not in text
    assert "PRIVATE KEY" not in text and '"d"' not in text


def test_ensure_then_list():
    ensured = run_json("ensure")
    assert ensured["state"] == "active"
    listed = run_json("list")
    assert sorted(k["state"] for k in listed) == ["active", "next"]
    assert set(listed[0]) == {
        "kid",
        "state",
        "alg",
        "size",
        "created_at",
        "activated_at",
        "retired_at",
        "retain_until",
        "revoked_at",
    }
    assert ensured["kid"] in {k["kid"] for k in listed}
    text, _ = run("list")
    assert ensured["kid"] in text and "active" in text
    assert_no_private_material(text + json.dumps(listed))


def test_list_on_an_empty_ring():
    assert run("list")[0].strip() == "no keys"


def test_rotate_reports_both_kids_and_warns_when_the_next_key_is_fresh():
    before = run_json("ensure")["kid"]
    nxt = SigningKey.objects.get(state=State.NEXT).kid
    out, err = run("rotate", "--json")
    result = json.loads(out)
    assert result["rotated"] is True and result["active"] == nxt and result["retired"] == before
    assert "warning" in result and "SIGNET_JWKS_MAX_AGE" in err  # published 0 s before signing
    assert selectors.active_signing_key().kid == nxt  # this process sees it at once
    assert_no_private_material(out + err)


def test_rotate_does_not_warn_when_the_next_key_was_published_long_enough(clock):
    run("ensure")
    clock.advance(seconds=601)
    out, err = run("rotate")
    assert out.startswith("rotated: ") and err == ""


def test_rotate_if_due(clock, preset):
    preset(SHORT_SCHEDULE)
    active = run_json("ensure")["kid"]
    assert run_json("rotate", "--if-due") == {"rotated": False, "active": active}
    assert run("rotate", "--if-due")[0].strip() == "not due: nothing rotated"
    clock.advance(days=1)
    result = run_json("rotate", "--if-due")
    assert result["rotated"] is True and result["retired"] == active


def test_rotate_if_due_on_an_empty_ring_creates_the_keys():
    result = run_json("rotate", "--if-due")
    assert result["rotated"] is False
    assert SigningKey.objects.get(state=State.ACTIVE).kid == result["active"]


def test_revoke():
    active = run_json("ensure")["kid"]
    revoked = run_json("revoke", active)
    assert revoked["state"] == "revoked" and revoked["kid"] == active and revoked["revoked_at"]
    assert selectors.active_signing_key().kid != active
    assert run("revoke", active)[0].strip() == f"revoked {active}"  # again: harmless


def test_revoke_an_unknown_kid_is_a_command_error():
    run("ensure")
    with pytest.raises(CommandError, match="no signing key with kid 'nope'"):
        run("revoke", "nope")
    assert SigningKey.objects.filter(state=State.REVOKED).count() == 0


def test_an_error_is_one_line_on_stderr_and_a_non_zero_exit(capsys):
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "keys", "revoke", "nope"])
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["CommandError: no signing key with kid 'nope'"]
    assert "Traceback" not in captured.err


def test_reencrypt(settings):
    run("ensure")
    assert run_json("reencrypt") == {"reencrypted": 0}
    old = settings.SIGNET_KEY_ENCRYPTION_KEY
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = [old]
    assert run_json("reencrypt") == {"reencrypted": 2}


def test_reencrypt_without_the_old_kek_fails_cleanly(settings):
    run("ensure")
    settings.SIGNET_KEY_ENCRYPTION_KEY = OTHER_KEK
    with pytest.raises(CommandError, match="nothing re-encrypted"):
        run("reencrypt")


def test_purge(clock):
    run("ensure")
    retired = run_json("rotate")["retired"]
    assert run_json("purge") == {"purged": 0}
    clock.advance(days=1)
    assert run_json("purge") == {"purged": 1}
    assert not SigningKey.objects.filter(kid=retired).exists()
