"""Operators revoke access tokens, refresh tokens, authorization codes and consents from the admin."""

import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from provider.audit.models import AuditEvent
from provider.oidc.models import Consent

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
Grant = get_grant_model()


@pytest.fixture
def tokens(user, rp_client):
    client, _ = rp_client
    raw_access, raw_refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    access = AccessToken.objects.create(
        user=user,
        application=client,
        token=raw_access,
        expires=timezone.now() + timedelta(minutes=10),
        scope="openid email",
    )
    refresh = RefreshToken.objects.create(
        user=user, application=client, token=raw_refresh, access_token=access
    )
    return access, refresh, raw_access, raw_refresh


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _action(admin_http, model, action, pks):
    return admin_http.post(_url(model, "changelist"), {"action": action, "_selected_action": pks})


def test_revoke_refresh_token_revokes_it_and_its_access_token(admin_http, tokens, operator):
    access, refresh, raw_access, raw_refresh = tokens
    page = admin_http.get(_url(RefreshToken, "changelist")).content.decode()
    assert raw_refresh not in page and raw_access not in page  # listed, never shown
    assert _action(admin_http, RefreshToken, "revoke_tokens", [refresh.pk]).status_code == 302
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    event = AuditEvent.objects.get(event="token.revoked")
    assert event.data == {"refresh_token_id": refresh.pk} and event.actor == str(operator.pk)
    active = admin_http.get(_url(RefreshToken, "changelist"), {"state": "active"})
    assert f"/{refresh.pk}/change/" not in active.content.decode()


def test_revoke_access_token_revokes_its_refresh_token(admin_http, tokens):
    access, refresh, _, _ = tokens
    page = admin_http.get(_url(AccessToken, "changelist"), {"q": "alice@example.com"})
    assert f"/{access.pk}/change/" in page.content.decode()  # searchable by user
    assert _action(admin_http, AccessToken, "revoke_tokens", [access.pk]).status_code == 302
    assert not AccessToken.objects.filter(pk=access.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert AuditEvent.objects.filter(event="token.revoked", data__access_token_id=access.pk).exists()


def test_revoke_authorization_code(admin_http, user, rp_client):
    client, _ = rp_client
    code = Grant.objects.create(
        user=user,
        application=client,
        code=secrets.token_urlsafe(24),
        expires=timezone.now() + timedelta(seconds=60),
        redirect_uri="https://rp.example.com/callback",
        scope="openid",
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )
    page = admin_http.get(_url(Grant, "changelist")).content.decode()
    assert code.code not in page
    assert _action(admin_http, Grant, "revoke_codes", [code.pk]).status_code == 302
    assert not Grant.objects.filter(pk=code.pk).exists()
    assert AuditEvent.objects.filter(event="authorization_code.revoked", client_id=client.client_id).exists()


def test_revoke_consent_forgets_it_and_revokes_the_clients_tokens(admin_http, tokens, user, rp_client):
    client, _ = rp_client
    _, refresh, _, _ = tokens
    consent = Consent.objects.create(user=user, client=client, scopes="openid email")
    page = admin_http.get(_url(Consent, "changelist"), {"q": "alice@"}).content.decode()
    assert f"/{consent.pk}/change/" in page
    assert _action(admin_http, Consent, "revoke_consents", [consent.pk]).status_code == 302
    assert not Consent.objects.filter(pk=consent.pk).exists()
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert AuditEvent.objects.filter(event="consent.revoked", client_id=client.client_id).exists()


def test_tokens_and_consents_cannot_be_hand_made_or_edited(admin_http):
    for model in (AccessToken, RefreshToken, Grant, Consent):
        assert admin_http.get(_url(model, "add")).status_code == 403, model
