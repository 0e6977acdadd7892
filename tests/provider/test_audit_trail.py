"""A whole session (failed and good sign-in, consent, token, refresh, userinfo, logout) leaves the
expected audit trail, and neither the audit rows nor any log line carries a secret."""

import io
import json
import logging

import pytest

from keys.selectors import active_signing_key
from provider.audit.models import AuditEvent
from provider.logging import JsonFormatter
from tests.conftest import PASSWORD, POST_LOGOUT_URI
from tests.oidc.flows import Flow
from tests.support.browser import forms

pytestmark = pytest.mark.django_db(transaction=True)

WRONG_PASSWORD = "Tr0ub4dor&3-not-it"


@pytest.fixture
def captured_logs():
    """Every log line the run writes, formatted exactly as production writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    raw = []
    handler.addFilter(lambda record: raw.append(record.getMessage()) or True)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream, raw
    root.removeHandler(handler)


def run_session(issuer, browser, user, client, secret):
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    page = flow.authorize(scope="openid email offline_access", prompt="consent")
    state, verifier = flow.last_params["state"], flow.verifier
    page = flow.log_in(page, user.email, WRONG_PASSWORD)
    page = flow.log_in(page, user.email, PASSWORD)
    code = flow.at_relying_party(flow.allow(page))["code"]
    tokens = flow.exchange(code).json()
    refreshed = flow.refresh(tokens["refresh_token"]).json()
    assert "access_token" in refreshed, refreshed
    assert flow.userinfo(refreshed["access_token"]).status_code == 200
    logout = browser.get(
        "/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
            "state": state,
        },
    )
    if logout.status_code == 200 and forms(logout.text):  # a confirmation page: confirm it
        logout = browser.submit(logout, button="allow")
    assert logout.headers.get("Location", "").startswith(POST_LOGOUT_URI), logout.status_code
    secrets_seen = [
        PASSWORD,
        WRONG_PASSWORD,
        secret,
        code,
        verifier,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        browser.http.cookies.get("csrftoken") or "csrf-cookie-absent",
    ]
    return secrets_seen


def test_a_whole_session_is_audited_without_secrets(issuer, browser, user, rp_client, captured_logs):
    client, secret = rp_client
    stream, raw = captured_logs
    secrets_seen = run_session(issuer, browser, user, client, secret)

    # Security events are rows; routine issuance is a log line only (SIGNET_AUDIT_TOKEN_ROWS off).
    events = list(AuditEvent.objects.order_by("created_at", "id").values_list("event", flat=True))
    expected = ["login.failed", "login.succeeded", "consent.granted", "logout"]
    assert [e for e in events if e in set(expected) | {"token.issued"}] == expected, events
    login = AuditEvent.objects.get(event="login.succeeded")
    assert login.client_id == client.client_id and login.ip_address == "127.0.0.1" and login.request_id

    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert {line["logger"] for line in lines} >= {"signet.audit", "signet.request"}
    issued = [line["audit"] for line in lines if line.get("audit", {}).get("event") == "token.issued"]
    assert [e["grant_type"] for e in issued] == ["authorization_code", "refresh_token"]
    assert all(e["client_id"] == client.client_id and e["actor"] == str(user.pk) for e in issued)
    assert all(e["jti"] and e["grant_id"] and e["request_id"] for e in issued)
    # The key that signed this session's tokens: none of its private members may appear.
    private = active_signing_key().private_jwk.export(private_key=True, as_dict=True)
    secrets_seen += [private[m] for m in ("d", "p", "q", "dp", "dq", "qi")]
    rows = json.dumps(list(AuditEvent.objects.values()), default=str)
    for value in secrets_seen:
        assert value not in output, "a secret reached the log output"
        assert value not in "\n".join(raw), "a secret was handed to a logger (masking hid it)"
        assert value not in rows, "a secret reached an audit row"
    assert "PRIVATE KEY" not in output


@pytest.mark.parametrize("rows", [False, True], ids=["log-line-only", "audit-token-rows"])
def test_issued_tokens_are_rows_only_when_asked_for(issuer, settings, rows):
    """Issue 15, decision 3: SIGNET_AUDIT_TOKEN_ROWS keeps a row per issued token for those who want one."""
    import requests

    from provider.oidc.services import client_create

    settings.SIGNET_AUDIT_TOKEN_ROWS = rows
    client, secret = client_create(name="Service", client_type="confidential", grant="client-credentials")
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    stored = AuditEvent.objects.filter(event="token.issued", client_id=client.client_id)
    assert stored.count() == (1 if rows else 0)
