"""What `users disable` and `users set-password` end, seen over real HTTP by the clients that hold tokens.

A disabled user's access token is refused at userinfo and introspection at once, their refresh token
fails, their browser session is gone, and enabling the account again brings none of it back. A new
password set by an operator ends every grant, as the user's own change does.
"""

import io
import sys

import pytest
from django.core.management import call_command

from provider.audit.models import AuditEvent
from tests.oidc.flows import Flow
from tests.support.browser import Browser
from tests.tokens.conftest import introspect

pytestmark = pytest.mark.django_db(transaction=True)


def users(*args, stdin=""):
    old, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        call_command("users", *args, stdout=io.StringIO())
    finally:
        sys.stdin = old


@pytest.fixture
def signed_in(issuer, rp_client, user):
    """alice signed in at rp_client in a browser, with online and offline tokens: (flow, [responses])."""
    flow = Flow(issuer=issuer, browser=Browser(issuer), client=rp_client[0], secret=rp_client[1])
    online = flow.tokens(scope="openid profile")
    offline = flow.tokens(scope="openid offline_access")
    for tokens in (online, offline):
        assert flow.userinfo(tokens["access_token"]).status_code == 200
    return flow, [online, offline]


def assert_ended(flow, tokens):
    auth = (flow.client.client_id, flow.secret)
    for response in tokens:
        assert flow.userinfo(response["access_token"]).status_code == 401
        assert introspect(flow.issuer, response["access_token"], auth).json() == {"active": False}
        refreshed = flow.refresh(response["refresh_token"])
        assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")


def test_disable_ends_tokens_and_session_at_once_and_enable_brings_none_back(signed_in, user):
    flow, tokens = signed_in
    users("disable", user.email, "--actor", "ops")
    assert_ended(flow, tokens)
    # The browser's session is gone: a silent request must sign in again.
    assert flow.at_relying_party(flow.authorize(prompt="none"))["error"] == "login_required"
    [ended] = AuditEvent.objects.filter(event="token.password_changed")
    assert ended.data["reason"] == "disabled" and ended.data["families"] == 2

    users("enable", user.email)
    assert_ended(flow, tokens)  # the grants were ended, not only refused while disabled
    assert AuditEvent.objects.get(event="user.enabled").actor.startswith("cli:")


def test_set_password_ends_every_grant(signed_in, user):
    flow, tokens = signed_in
    users("set-password", user.email, "--password-stdin", stdin="an operator's new passphrase 5\n")
    assert_ended(flow, tokens)
    assert AuditEvent.objects.get(event="token.password_changed").data["reason"] == "admin"
