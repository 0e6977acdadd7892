"""How operators see and reset second factors (admin, `users mfa-reset`), set a client's MFA policy
(`clients --require-mfa`), and that no TOTP seed or recovery code reaches a log, an audit row or the admin."""

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from tests.accounts.mfa import (
    NOW,
    code_at,
    is_verify_page,
    log_in,
    pin_clock,
    sign_out,
    submit_form,
    totp_enrolled,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrolled(browser, user, monkeypatch):
    """alice after enrolling TOTP over HTTP, signing out and in again with a recovery code: (seed, codes)."""
    secret, codes = totp_enrolled(browser, monkeypatch)
    submit_form(browser, log_in(browser), "recovery-form", {"recovery-code": codes[0]})
    sign_out(browser)
    return secret, codes


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator@example.com", "operator password 123")


@pytest.fixture
def admin_http(client, operator):
    client.force_login(operator)
    return client


def command(name, *args):
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def test_the_user_admin_lists_factors_without_secrets(enrolled, admin_http, user):
    secret, codes = enrolled
    page = admin_http.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "Authenticator app: on" in page and "recovery codes left: 9" in page
    assert secret not in page and not any(code in page for code in codes)


def test_the_admin_action_asks_a_reason_then_resets_audited(enrolled, admin_http, user, mailoutbox, browser):
    from accounts.models import RecoveryCode, TotpDevice
    from provider.audit.models import AuditEvent

    action = {"action": "mfa_reset_action", "_selected_action": [str(user.pk)]}
    asked = admin_http.post("/admin/accounts/user/", action)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert TotpDevice.objects.filter(user=user).exists()  # nothing happens before a reason
    no_reason = admin_http.post("/admin/accounts/user/", {**action, "apply": "1", "reason": " "})
    assert "Give a reason." in no_reason.content.decode() and TotpDevice.objects.filter(user=user).exists()
    done = admin_http.post("/admin/accounts/user/", {**action, "apply": "1", "reason": "lost her phone"})
    assert done.status_code == 302
    assert (
        not TotpDevice.objects.filter(user=user).exists()
        and not RecoveryCode.objects.filter(user=user).exists()
    )
    row = AuditEvent.objects.get(event="mfa.reset")
    assert row.data["reason"] == "lost her phone" and row.data["user"] == str(user.pk)
    assert any("removed" in m.subject for m in mailoutbox)
    # Her password alone signs her in again.
    assert log_in(browser).url.endswith("/accounts/profile/")


def test_users_mfa_reset_needs_a_reason_and_says_what_it_removed(enrolled, user):
    from provider.audit.models import AuditEvent

    with pytest.raises(CommandError):
        call_command("users", "mfa-reset", user.email, stdout=io.StringIO())
    out = json.loads(
        command("users", "mfa-reset", user.email, "--reason", "ticket 42", "--json", "--actor", "ops")
    )
    assert out == {"id": str(user.pk), "email": user.email, "totp": True, "recovery_codes": 10, "passkeys": 0}
    row = AuditEvent.objects.get(event="mfa.reset")
    assert row.actor == "cli:ops" and row.data["reason"] == "ticket 42"


def test_clients_require_mfa_on_create_and_update(db):
    from provider.oidc.models import Client

    created = json.loads(
        command(
            "clients",
            "create",
            "--name",
            "HR",
            "--type",
            "confidential",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://hr.example.com/cb",
            "--require-mfa",
            "--json",
        )
    )
    assert created["require_mfa"] is True and Client.objects.get(client_id=created["client_id"]).require_mfa
    off = json.loads(command("clients", "update", created["client_id"], "--no-require-mfa", "--json"))
    assert off["require_mfa"] is False and off["changed"] == ["require_mfa"]
    on = json.loads(command("clients", "update", created["client_id"], "--require-mfa", "--json"))
    assert on["changed"] == ["require_mfa"] and Client.objects.get(client_id=created["client_id"]).require_mfa


def test_the_client_admin_edits_require_mfa(admin_http, rp_client):
    client, _secret = rp_client
    page = admin_http.get(f"/admin/oidc/client/{client.pk}/change/").content.decode()
    assert 'name="require_mfa"' in page


def test_no_seed_or_code_in_logs_audit_rows_or_admin_pages(browser, user, monkeypatch, caplog, admin_http):
    from provider.audit.models import AuditEvent

    caplog.set_level(logging.DEBUG)
    secret, codes = totp_enrolled(browser, monkeypatch)
    pin_clock(monkeypatch, NOW + 30)
    wrong = submit_form(browser, log_in(browser), "totp-form", {"code": "123456"})
    assert is_verify_page(wrong)
    submit_form(browser, wrong, "totp-form", {"code": code_at(secret, NOW + 30)})
    sign_out(browser)
    submit_form(browser, log_in(browser), "recovery-form", {"recovery-code": codes[5]})
    secrets = [secret, secret.lower(), *codes, *(c.replace("-", "") for c in codes)]
    logged = "\n".join(r.getMessage() + repr(getattr(r, "fields", "")) for r in caplog.records)
    audited = "\n".join(f"{e.event} {e.actor} {json.dumps(e.data)}" for e in AuditEvent.objects.all())
    assert "mfa.totp_added" in audited and "mfa.recovery_code_used" in audited  # the events are there...
    pages = ""
    for url in (
        f"/admin/accounts/user/{user.pk}/change/",
        "/admin/accounts/user/",
        "/admin/audit/auditevent/",
    ):
        response = admin_http.get(url)
        assert response.status_code == 200, url
        pages += response.content.decode()
    assert "recovery codes left: 9" in pages
    for value in secrets:  # ...without what they are about
        assert value not in logged and value not in audited and value not in pages
