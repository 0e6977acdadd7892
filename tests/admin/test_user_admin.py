"""Users in the admin: create with a password, search, filter, disable."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_create_a_user_with_a_hashed_password(admin_http):
    response = admin_http.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "new@example.com",
            "password1": "a long enough pass 123",
            "password2": "a long enough pass 123",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert user.password.startswith("argon2$") and user.check_password("a long enough pass 123")


def test_search_filter_and_disable(admin_http, user):
    url = reverse("admin:accounts_user_changelist")
    assert "alice@example.com" in admin_http.get(url, {"q": "Liddell"}).content.decode()
    assert "alice@example.com" not in admin_http.get(url, {"q": "nobody"}).content.decode()
    admin_http.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": "on",
            "is_active": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    user.refresh_from_db()
    assert user.is_active is False
    assert "alice@example.com" in admin_http.get(url, {"is_active__exact": "0"}).content.decode()


def test_disabling_in_the_admin_ends_sessions_and_grants_and_is_audited(
    admin_http, operator, user, rp_client, issuer
):
    from django.contrib.sessions.models import Session
    from django.test import Client as HttpClient

    from provider.audit.models import AuditEvent
    from provider.oidc.models import TokenFamily
    from tests.tokens.conftest import exchange, mint_code

    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid offline_access")
    assert exchange(issuer, client, secret, code, verifier).status_code == 200
    HttpClient().force_login(user)
    form = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email_verified": "on",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
    }
    admin_http.post(reverse("admin:accounts_user_change", args=[user.pk]), {**form, "is_active": ""})
    assert not any(s.get_decoded().get("_auth_user_id") == str(user.pk) for s in Session.objects.all())
    assert TokenFamily.objects.get(user=user).revoked_at is not None
    event = AuditEvent.objects.get(event="user.disabled")
    assert event.actor == str(operator.pk) and event.data == {"user": str(user.pk)}
    admin_http.post(reverse("admin:accounts_user_change", args=[user.pk]), {**form, "is_active": "on"})
    assert AuditEvent.objects.filter(event="user.enabled").count() == 1
