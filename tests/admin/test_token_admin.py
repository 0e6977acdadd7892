"""Operators revoke grants, authorization codes and consents from the admin."""

import secrets
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from keys import jwt, services
from provider.audit.models import AuditEvent
from provider.oidc import refresh
from provider.oidc.access_tokens import active_access_token
from provider.oidc.models import Consent, TokenFamily

pytestmark = pytest.mark.django_db

RefreshToken = get_refresh_token_model()
Grant = get_grant_model()


@pytest.fixture
def grant(user, rp_client):
    """A grant as a code exchange leaves it: the family, its refresh token, an access token naming both."""
    client, _ = rp_client
    services.key_ensure_active()
    family = refresh.family_start(client=client, user=user, scopes=["openid", "email"])
    raw_refresh, row = refresh.refresh_token_issue(grant=family, resources=[])
    now = int(time.time())
    access_token = jwt.sign(
        {
            "iss": settings.OIDC_ISSUER,
            "sub": str(user.pk),
            "client_id": client.client_id,
            "aud": client.client_id,
            "iat": now,
            "exp": now + 600,
            "jti": secrets.token_hex(16),
            "scope": "openid email",
            "grant_id": str(family.family),
            "refresh_id": row.pk,
        },
        typ="at+jwt",
    )
    assert active_access_token(access_token) is not None
    return family, row, raw_refresh, access_token


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _action(admin_http, model, action, pks):
    return admin_http.post(_url(model, "changelist"), {"action": action, "_selected_action": pks})


def test_revoking_a_grant_ends_its_refresh_and_access_tokens(admin_http, grant, operator, rp_client):
    family, row, raw_refresh, access_token = grant
    client, _ = rp_client
    page = admin_http.get(_url(TokenFamily, "changelist"), {"q": "alice@example.com"}).content.decode()
    assert f"/{family.pk}/change/" in page  # searchable by user
    assert raw_refresh not in page and access_token not in page  # never shown
    assert _action(admin_http, TokenFamily, "revoke_grants", [family.pk]).status_code == 302
    family.refresh_from_db()
    row.refresh_from_db()
    assert family.revoked_at is not None and row.revoked is not None
    assert active_access_token(access_token) is None  # at once, at introspection and userinfo
    event = AuditEvent.objects.get(event="token.revoked")
    assert event.actor == str(operator.pk) and event.client_id == client.client_id
    active = admin_http.get(_url(TokenFamily, "changelist"), {"state": "active"})
    assert f"/{family.pk}/change/" not in active.content.decode()


def test_access_id_and_refresh_token_rows_are_not_in_the_admin(admin_http):
    for model in (get_access_token_model(), get_id_token_model(), RefreshToken):
        assert not admin.site.is_registered(model), model


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


def test_revoke_consent_forgets_it_and_revokes_the_clients_tokens(admin_http, grant, user, rp_client):
    client, _ = rp_client
    family, row, _, access_token = grant
    consent = Consent.objects.create(user=user, client=client, scopes="openid email")
    page = admin_http.get(_url(Consent, "changelist"), {"q": "alice@"}).content.decode()
    assert f"/{consent.pk}/change/" in page
    assert _action(admin_http, Consent, "revoke_consents", [consent.pk]).status_code == 302
    assert not Consent.objects.filter(pk=consent.pk).exists()
    row.refresh_from_db()
    assert row.revoked is not None and active_access_token(access_token) is None
    assert AuditEvent.objects.filter(event="consent.revoked", client_id=client.client_id).exists()


def test_tokens_and_consents_cannot_be_hand_made_or_edited(admin_http):
    for model in (TokenFamily, Grant, Consent):
        assert admin_http.get(_url(model, "add")).status_code == 403, model
