"""OpenID Connect Back-Channel Logout 1.0 over real HTTP: a relying party's server on a free port
receives a logout token when the sign-in it took part in ends, whichever way it ends.

These tests run the tasks where they are enqueued (the suite's immediate backend); the queue and its
worker, retries included, are tests/oidc/test_backchannel_worker.py (PostgreSQL).
"""

import jwt
import pytest
import requests

from tests.conftest import PASSWORD, POST_LOGOUT_URI
from tests.oidc.flows import Flow, is_login_page
from tests.support.browser import Browser
from tests.support.logout_receiver import LogoutReceiver

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def receiver():
    with LogoutReceiver() as server:
        yield server


@pytest.fixture
def bc_client(rp_client, receiver):
    """The relying party, registered for back-channel logout at the receiver."""
    from provider.oidc.services import client_update

    client, secret = rp_client
    client_update(
        client=client, backchannel_logout_uri=receiver.uri, backchannel_logout_session_required=True
    )
    return client, secret


@pytest.fixture
def flow(issuer, browser, bc_client):
    client, secret = bc_client
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


def verified_logout_token(issuer, client, token):
    """Verify a logout token as a relying party must (Back-Channel Logout 1.0 2.6); its claims."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt"
    jwks = requests.get(f"{issuer}/jwks", timeout=10).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=client.client_id,
        issuer=issuer,
        options={"require": ["iss", "aud", "iat", "exp", "jti", "events"]},
    )
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims  # 2.4: a nonce is prohibited
    assert 0 < claims["exp"] - claims["iat"] <= 120
    return claims


def sign_in_elsewhere(issuer, email="alice@example.com"):
    """Another browser of the same user, signed in on the login page."""
    other = Browser(issuer)
    response = other.get("/accounts/login/")
    response = other.login(response, email, PASSWORD)
    assert response.status_code == 200 and not is_login_page(response), response.status_code
    return other


def test_rp_initiated_logout_sends_a_logout_token_that_verifies(flow, user, receiver):
    tokens = flow.tokens()
    id_claims = flow.id_token_claims(tokens["id_token"])
    response = flow.browser.get(
        "/logout", params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    )
    assert response.status_code == 302
    [(path, content_type, body)] = receiver.wait_for(1)
    assert path == "/backchannel-logout"
    assert content_type == "application/x-www-form-urlencoded"
    assert set(body) == {"logout_token"}
    claims = verified_logout_token(flow.issuer, flow.client, body["logout_token"][0])
    assert claims["sid"] == id_claims["sid"]
    assert claims["sub"] == str(user.pk)


def test_each_logout_token_has_its_own_jti(flow, user, receiver):
    for _ in range(2):
        tokens = flow.tokens(prompt="login")
        flow.browser.get(
            "/logout",
            params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI},
        )
    receiver.wait_for(2)
    jtis = {verified_logout_token(flow.issuer, flow.client, t)["jti"] for t in receiver.tokens()}
    assert len(jtis) == 2


def test_ending_a_sign_in_from_the_account_page_ends_its_tokens_and_tells_the_client(
    flow, user, receiver, bc_client
):
    tokens = flow.tokens()
    sid = flow.id_token_claims(tokens["id_token"])["sid"]
    other = sign_in_elsewhere(flow.issuer)
    page = other.get("/accounts/sessions/")
    from accounts.models import SignInSession

    record = SignInSession.objects.get(sid=sid)
    assert f'id="session-{record.pk}"' in page.text
    assert receiver.received == []
    response = other.submit(page, form_index=0)  # the first form ends the first other sign-in
    assert response.status_code == 200 and "That sign-in was ended." in response.text

    receiver.wait_for(1)
    [token] = receiver.tokens()
    claims = verified_logout_token(flow.issuer, flow.client, token)
    assert (claims["sid"], claims["sub"]) == (sid, str(user.pk))
    # Its refresh token and access token ended with it, and that browser is signed out.
    refreshed = flow.refresh(tokens["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    introspected = requests.post(
        f"{flow.issuer}/introspect",
        data={"token": tokens["access_token"]},
        auth=(flow.client.client_id, flow.secret),
        timeout=10,
    )
    assert introspected.json() == {"active": False}
    assert flow.at_relying_party(flow.authorize(prompt="none"))["error"] == "login_required"
    # The browser that ended it is still signed in.
    assert other.get("/accounts/sessions/").status_code == 200
    assert "End this sign-in" not in other.get("/accounts/sessions/").text


def test_an_admin_ending_a_sign_in_tells_the_client(flow, user, receiver, client, django_user_model):
    tokens = flow.tokens()
    sid = flow.id_token_claims(tokens["id_token"])["sid"]
    from accounts.models import SignInSession

    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    client.force_login(operator)
    record = SignInSession.objects.get(sid=sid)
    response = client.post(
        "/admin/accounts/signinsession/",
        {"action": "end_sign_ins", "_selected_action": [record.pk]},
    )
    assert response.status_code == 302
    receiver.wait_for(1)
    [token] = receiver.tokens()
    assert verified_logout_token(flow.issuer, flow.client, token)["sid"] == sid
    assert flow.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    record.refresh_from_db()
    assert (record.ended_at is not None, record.end_reason) == (True, "admin")


def test_the_user_admin_action_ends_every_sign_in_of_the_user(
    flow, user, receiver, client, django_user_model
):
    flow.tokens()
    sign_in_elsewhere(flow.issuer)
    from accounts.models import SignInSession

    assert SignInSession.objects.filter(user=user, ended_at__isnull=True).count() == 2
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    client.force_login(operator)
    response = client.post(
        "/admin/accounts/user/", {"action": "end_sign_ins_action", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    assert SignInSession.objects.filter(user=user, ended_at__isnull=True).count() == 0
    assert len(receiver.wait_for(1)) == 1  # only the sign-in the client took part in
    assert flow.at_relying_party(flow.authorize(prompt="none"))["error"] == "login_required"


def test_a_password_reset_tells_every_client_of_every_sign_in(flow, user, receiver):
    from accounts.services import password_changed_notify

    tokens = flow.tokens()
    sid = flow.id_token_claims(tokens["id_token"])["sid"]
    password_changed_notify(user=user, reason="reset")
    receiver.wait_for(1)
    [token] = receiver.tokens()
    assert verified_logout_token(flow.issuer, flow.client, token)["sid"] == sid


def test_a_client_without_a_uri_is_not_called(flow, user, receiver, issuer):
    from provider.oidc.services import client_update

    client_update(client=flow.client, backchannel_logout_uri="")
    tokens = flow.tokens()
    flow.browser.get(
        "/logout", params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    )
    assert receiver.received == []


def deliveries(client_id, outcome):
    from prometheus_client import REGISTRY

    labels = {"client_id": client_id, "outcome": outcome}
    return REGISTRY.get_sample_value("signet_backchannel_logout_deliveries_total", labels) or 0


def test_a_redirect_from_the_receiver_is_not_followed_and_counts_as_a_failure(issuer, flow, user, settings):
    from provider.audit.models import AuditEvent
    from provider.oidc.services import client_update

    settings.SIGNET_METRICS = True
    failures = deliveries(flow.client.client_id, "failure")

    with LogoutReceiver() as target, LogoutReceiver(statuses=(307,)) as redirecting:
        redirecting.location = target.uri
        client_update(client=flow.client, backchannel_logout_uri=redirecting.uri)
        tokens = flow.tokens()
        flow.browser.get(
            "/logout",
            params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI},
        )
        assert len(redirecting.wait_for(1)) == 1
        assert target.received == []
    failed = AuditEvent.objects.get(event="backchannel.failed")
    assert (failed.client_id, failed.data["status"]) == (flow.client.client_id, 307)
    assert deliveries(flow.client.client_id, "failure") == failures + 1


def test_a_delivery_counts_as_a_success(flow, user, receiver, settings):
    settings.SIGNET_METRICS = True
    before = deliveries(flow.client.client_id, "success")
    tokens = flow.tokens()
    flow.browser.get(
        "/logout", params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    )
    receiver.wait_for(1)
    assert deliveries(flow.client.client_id, "success") == before + 1


def test_a_receiver_that_does_not_answer_is_given_up_after_the_timeout(flow, user, settings):
    from provider.audit.models import AuditEvent
    from provider.oidc.services import client_update

    settings.SIGNET_BACKCHANNEL_TIMEOUT_SECONDS = 1
    with LogoutReceiver() as silent:
        silent.delay = 5  # longer than the timeout: the worker stops waiting first
        client_update(client=flow.client, backchannel_logout_uri=silent.uri)
        tokens = flow.tokens()
        flow.browser.get(
            "/logout",
            params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI},
        )
        silent.delay = 0
    failed = AuditEvent.objects.get(event="backchannel.failed")
    assert (failed.data["status"], failed.data["error"]) == (None, "ReadTimeout")


def test_signing_in_again_in_the_same_browser_keeps_one_record_whose_end_covers_both_sids(
    flow, user, receiver
):
    from accounts.models import SignInSession

    first = flow.tokens()
    first_sid = flow.id_token_claims(first["id_token"])["sid"]
    second = flow.tokens(prompt="login")  # a new authentication of this browser: a new sid
    second_sid = flow.id_token_claims(second["id_token"])["sid"]
    assert first_sid != second_sid
    [live] = SignInSession.objects.filter(user=user, ended_at__isnull=True)
    assert (live.sid, live.earlier_sids) == (second_sid, [first_sid])
    assert SignInSession.objects.get(sid=first_sid).end_reason == "signed_in_again"

    other = sign_in_elsewhere(flow.issuer)
    page = other.get("/accounts/sessions/")
    other.submit(page, form_index=0)
    receiver.wait_for(2)
    sids = sorted(verified_logout_token(flow.issuer, flow.client, t)["sid"] for t in receiver.tokens())
    assert sids == sorted([first_sid, second_sid])
    for tokens in (first, second):
        assert flow.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_disabling_the_user_ends_every_sign_in_and_tells_the_client(flow, user, receiver):
    from django.core.management import call_command

    from accounts.models import SignInSession

    tokens = flow.tokens()
    sid = flow.id_token_claims(tokens["id_token"])["sid"]
    call_command("users", "disable", user.email, "--actor", "test")
    receiver.wait_for(1)
    [token] = receiver.tokens()
    assert verified_logout_token(flow.issuer, flow.client, token)["sid"] == sid
    assert set(SignInSession.objects.values_list("end_reason", flat=True)) == {"disabled"}
