"""Operators manage clients in the admin: create (secret shown once), edit, regenerate the secret, disable."""

import re

import pytest
import requests
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from provider.audit.models import AuditEvent
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db

ADD = reverse("admin:oidc_client_add")


def _client_form(**overrides):
    data = {
        "name": "Billing",
        "client_type": "confidential",
        "authorization_grant_type": "authorization-code",
        "redirect_uris": "https://billing.example.com/cb\nhttps://billing.example.com/cb2",
        "post_logout_redirect_uris": "",
        "allowed_scopes": "openid email",
        "audiences": "https://api.example.com",
        "skip_authorization": "",
        "is_active": "on",
        "access_token_lifetime": "",
        "id_token_lifetime": "",
        "refresh_token_lifetime": "",
    }
    data.update(overrides)
    return data


def _shown_secret(response):
    match = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode())
    assert match, "the secret page shows the secret"
    return match.group(1)


def test_create_shows_the_secret_once_and_stores_only_its_hash(admin_http, operator):
    response = admin_http.post(ADD, _client_form())
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    secret = _shown_secret(response)
    client = Client.objects.get(name="Billing")
    assert client.client_secret != secret and check_password(secret, client.client_secret)
    assert client.redirect_uris == "https://billing.example.com/cb https://billing.example.com/cb2"
    assert client.allowed_scopes == "openid email"
    # Neither the change page nor the list ever shows it again.
    pages = (reverse("admin:oidc_client_change", args=[client.pk]), reverse("admin:oidc_client_changelist"))
    for url in pages:
        page = admin_http.get(url).content.decode()
        assert secret not in page and client.client_secret not in page
    event = AuditEvent.objects.get(event="client.created")
    assert event.client_id == client.client_id and event.actor == str(operator.pk)
    assert secret not in str(event.data)


def test_public_client_gets_no_secret(admin_http):
    response = admin_http.post(ADD, _client_form(name="SPA", client_type="public"))
    assert response.status_code == 302
    assert Client.objects.get(name="SPA").client_secret == ""


def test_unknown_scope_and_relative_audience_are_refused_next_to_the_field(admin_http):
    response = admin_http.post(ADD, _client_form(allowed_scopes="openid admin", audiences="/api"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Unknown scope(s): admin" in errors["allowed_scopes"][0]
    assert "/api is not an absolute URL." in errors["audiences"][0]
    assert not Client.objects.filter(name="Billing").exists()


def test_edit_redirect_uris_scopes_and_audiences_is_audited(admin_http, rp_client):
    client, _ = rp_client
    url = reverse("admin:oidc_client_change", args=[client.pk])
    form = _client_form(
        name=client.name,
        redirect_uris="https://rp.example.com/new-callback",
        allowed_scopes="openid profile",
        audiences="https://a.example.com https://b.example.com",
    )
    assert admin_http.post(url, form).status_code == 302
    client.refresh_from_db()
    assert client.redirect_uris == "https://rp.example.com/new-callback"
    assert client.allowed_scopes == "openid profile"
    assert client.audience_list == ["https://a.example.com", "https://b.example.com"]
    event = AuditEvent.objects.get(event="client.updated")
    assert {"redirect_uris", "allowed_scopes", "audiences"} <= set(event.data["fields"])


def test_regenerate_secret_replaces_the_old_one_and_needs_post(admin_http, rp_client):
    client, old_secret = rp_client
    url = reverse("admin:oidc_client_regenerate_secret", args=[client.pk])
    assert admin_http.get(url).status_code == 405
    change_page = admin_http.get(reverse("admin:oidc_client_change", args=[client.pk])).content.decode()
    assert url in change_page  # the button is on the client's page
    response = admin_http.post(url)
    assert response.status_code == 200
    new_secret = _shown_secret(response)
    client.refresh_from_db()
    assert check_password(new_secret, client.client_secret)
    assert not check_password(old_secret, client.client_secret)
    assert AuditEvent.objects.filter(event="client.secret_regenerated", client_id=client.client_id).exists()


def test_staff_without_change_permission_cannot_regenerate(client, django_user_model, rp_client):
    rp, _ = rp_client
    viewer = django_user_model.objects.create_user("viewer@example.com", "viewer password 123", is_staff=True)
    client.force_login(viewer)
    response = client.post(reverse("admin:oidc_client_regenerate_secret", args=[rp.pk]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(event="client.secret_regenerated").exists()


@pytest.mark.django_db(transaction=True)
def test_disable_action_stops_the_client_at_the_token_endpoint(admin_http, rp_client, issuer):
    rp, secret = rp_client
    rp.authorization_grant_type = Client.GRANT_CLIENT_CREDENTIALS
    rp.save()

    def token():
        data = {"grant_type": "client_credentials"}
        return requests.post(f"{issuer}/token", data=data, auth=(rp.client_id, secret), timeout=10)

    assert token().status_code == 200
    response = admin_http.post(
        reverse("admin:oidc_client_changelist"),
        {"action": "disable_clients", "_selected_action": [rp.pk]},
    )
    assert response.status_code == 302
    rp.refresh_from_db()
    assert rp.is_active is False
    refused = token()
    assert refused.status_code in (400, 401) and "error" in refused.json()
    assert AuditEvent.objects.filter(event="client.disabled", client_id=rp.client_id).exists()

    admin_http.post(
        reverse("admin:oidc_client_changelist"), {"action": "enable_clients", "_selected_action": [rp.pk]}
    )
    assert token().status_code == 200


def test_client_list_is_searchable_and_filterable(admin_http, rp_client):
    client, _ = rp_client
    url = reverse("admin:oidc_client_changelist")
    assert client.client_id in admin_http.get(url, {"q": "Example RP"}).content.decode()
    assert client.client_id not in admin_http.get(url, {"q": "no such client"}).content.decode()
    assert client.client_id not in admin_http.get(url, {"is_active__exact": "0"}).content.decode()


def test_only_the_grants_signet_serves_are_offered(admin_http):
    form = admin_http.get(ADD).context["adminform"].form
    offered = {value for value, _ in form.fields["authorization_grant_type"].choices if value}
    assert offered == {
        "authorization-code",
        "client-credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert form.initial["client_type"] == "confidential"
    refused = admin_http.post(ADD, _client_form(authorization_grant_type="implicit"))
    assert "authorization_grant_type" in refused.context["adminform"].form.errors


def test_the_signing_algorithm_offers_only_the_configured_ones(admin_http, rp_client, settings):
    """Issue 19: the client's token alg is one of SIGNET_SIGNING_ALGS; another is refused, not saved."""
    client, _ = rp_client
    url = reverse("admin:oidc_client_change", args=[client.pk])
    form = _client_form(name=client.name, id_token_signed_response_alg="ES256")
    refused = admin_http.post(url, form)
    assert refused.status_code == 200 and "ES256" in refused.content.decode()
    client.refresh_from_db()
    assert client.id_token_signed_response_alg == "RS256"
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    page = admin_http.get(url).content.decode()
    select = re.search(r'<select name="id_token_signed_response_alg".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="([^"]+)"', select) == ["RS256", "ES256"]
    assert admin_http.post(url, form).status_code == 302
    client.refresh_from_db()
    assert client.id_token_signed_response_alg == "ES256"
