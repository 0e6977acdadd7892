"""Refresh tokens: rotation, reuse detection, client binding, lifetimes, auth_time and sid on refresh."""

import logging
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from provider.audit.models import AuditEvent
from provider.oidc import refresh as refresh_rules
from provider.oidc.models import AuthorizationCode, TokenFamily
from tests.oidc.flows import Flow
from tests.tokens.conftest import API, exchange, introspect, mint_code, refresh, unverified

pytestmark = pytest.mark.django_db(transaction=True)


def _live_family_tokens(family):
    return get_refresh_token_model().objects.filter(token_family=family, revoked__isnull=True)


def test_every_refresh_rotates_and_revokes_the_previous_pair(issuer, signed_in):
    client, secret, first = signed_in
    second = refresh(issuer, client, secret, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # The previous access token is gone, the new one is live.
    assert introspect(issuer, first["access_token"], (client.client_id, secret)).json() == {"active": False}
    assert introspect(issuer, second["access_token"], (client.client_id, secret)).json()["active"] is True
    third = refresh(issuer, client, secret, second["refresh_token"])
    assert third.status_code == 200, third.text


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family_and_is_audited(issuer, signed_in, caplog):
    client, secret, first = signed_in
    second = refresh(issuer, client, secret, first["refresh_token"]).json()
    third = refresh(issuer, client, secret, second["refresh_token"]).json()
    family = TokenFamily.objects.get(client=client)
    assert _live_family_tokens(family.family).count() == 1

    with caplog.at_level(logging.INFO, logger="signet.audit"):
        replay = refresh(issuer, client, secret, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    events = [r for r in caplog.records if r.getMessage() == "token.refresh_reuse"]
    assert len(events) == 1
    assert AuditEvent.objects.filter(event="token.refresh_reuse", client_id=client.client_id).count() == 1

    # Every token descended from the grant is dead: refresh tokens revoked, access tokens inactive.
    assert _live_family_tokens(family.family).count() == 0
    assert refresh(issuer, client, secret, third["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(issuer, third["access_token"], (client.client_id, secret)).json() == {"active": False}
    family.refresh_from_db()
    assert family.revoked_at is not None


def test_a_refresh_token_works_only_for_its_own_client(issuer, signed_in, make_client):
    client, secret, body = signed_in
    other, other_secret = make_client(audiences=[API])
    stolen = refresh(issuer, other, other_secret, body["refresh_token"])
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    # The other client's attempt neither used nor revoked the token.
    assert refresh(issuer, client, secret, body["refresh_token"]).status_code == 200


def test_idle_lifetime_is_per_client(issuer, signed_in, settings):
    client, secret, body = signed_in
    rt = get_refresh_token_model().objects.get(application=client, revoked__isnull=True)
    # Issued 2 days ago (its access token long expired): inside the global 30-day idle window...
    get_refresh_token_model().objects.filter(pk=rt.pk).update(created=timezone.now() - timedelta(days=2))
    client.refresh_token_lifetime = 60 * 60 * 24  # ...but outside this client's one day.
    client.save()
    response = refresh(issuer, client, secret, body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    client.refresh_token_lifetime = None
    client.save()
    assert refresh(issuer, client, secret, body["refresh_token"]).status_code == 200


def test_a_family_ends_at_its_absolute_deadline_however_often_used(issuer, signed_in):
    client, secret, body = signed_in
    TokenFamily.objects.filter(client=client).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = refresh(issuer, client, secret, body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_offline_access_decides_the_absolute_lifetime(issuer, rp_client, user, settings):
    client, secret = rp_client
    for scope, seconds in (
        ("openid offline_access", settings.SIGNET_REFRESH_TOKEN_MAX_LIFETIME),
        ("openid", settings.SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME),
    ):
        code, verifier = mint_code(client, user, scope=scope)
        before = timezone.now()
        body = exchange(issuer, client, secret, code, verifier).json()
        after = timezone.now()
        rt = get_refresh_token_model().objects.get(
            token_checksum=refresh_rules.checksum(body["refresh_token"]), revoked__isnull=True
        )
        family = TokenFamily.objects.get(family=rt.token_family)
        assert family.offline is ("offline_access" in scope)
        # Bracketed by the request, not within a tolerance a slow request could exceed.
        lifetime = timedelta(seconds=seconds)
        assert before + lifetime <= family.expires_at <= after + lifetime


def test_expiry_rules_with_an_injected_clock(rp_client, user):
    client, _secret = rp_client
    now = timezone.now()
    rt = get_refresh_token_model()(application=client, user=user, created=now)
    family = TokenFamily(expires_at=now + timedelta(days=1))
    # The idle window opens when the access token issued with the refresh token expires.
    issued_access_expires = now + timedelta(seconds=600)
    idle = timedelta(seconds=client.refresh_token_lifetime or 2592000)
    expired = refresh_rules.refresh_token_expired
    assert not expired(refresh_token=rt, client=client, family=family, now=now)
    assert not expired(refresh_token=rt, client=None, family=None, now=issued_access_expires + idle / 2)
    assert expired(refresh_token=rt, client=client, family=None, now=issued_access_expires + idle)
    late = now + timedelta(days=1)
    assert expired(refresh_token=rt, client=client, family=family, now=late)


def test_id_token_on_refresh_keeps_the_sign_ins_auth_time_and_sid(issuer, browser, user, rp_client):
    """Through the real login and consent pages, so auth_time and sid come from the browser session."""
    client, secret = rp_client
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    page = flow.authorize(scope="openid offline_access", nonce="n-1", prompt="consent")
    code = flow.at_relying_party(flow.allow(flow.log_in(page, user.email)))["code"]
    verifier = flow.verifier
    # Move the sign-in an hour back instead of sleeping: a refresh that took "now" (or last_login)
    # as auth_time would then show it.
    AuthorizationCode.objects.filter(code=code).update(auth_time=F("auth_time") - 3600)
    first = exchange(issuer, client, secret, code, verifier).json()
    original = unverified(first["id_token"])
    assert original["sid"] and original["auth_time"] < time.time() - 3000

    again = refresh(issuer, client, secret, first["refresh_token"]).json()
    refreshed = unverified(again["id_token"])
    assert refreshed["auth_time"] == original["auth_time"]
    assert refreshed["sid"] == original["sid"]
    assert refreshed["jti"] != original["jti"]
    assert refreshed["sub"] == original["sub"] and refreshed["aud"] == client.client_id
    assert unverified(again["access_token"])["auth_time"] == original["auth_time"]


def test_a_deactivated_user_gets_no_new_tokens(issuer, signed_in, user):
    client, secret, body = signed_in
    user.is_active = False
    user.save()
    response = refresh(issuer, client, secret, body["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
