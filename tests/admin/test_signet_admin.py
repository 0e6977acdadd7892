"""The admin speaks Signet: its own sections, filters for values that can exist, one error per bad
field, audit actors as people, and one Lockouts page with an Unlock button (issue 17)."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from provider.audit import audit
from provider.audit.models import AuditEvent
from provider.oidc.models import Client
from tests.admin.test_client_admin import ADD, _client_form

pytestmark = pytest.mark.django_db

LOCKOUTS = reverse("admin:axes_accessattempt_changelist")
UNLOCK = reverse("admin:axes_accessattempt_unlock")


def _sections(response):
    return [(app["name"], [m["name"] for m in app["models"]]) for app in response.context["app_list"]]


def test_the_index_shows_signets_sections_not_its_libraries(admin_http):
    sections = _sections(admin_http.get(reverse("admin:index")))
    assert sections == [
        ("Clients", ["Clients", "Grants", "Consents", "Authorization codes"]),
        ("Users", ["Users", "Groups", "Sign-in sessions"]),
        ("Signing keys", ["Signing keys"]),
        ("Audit", ["Audit events"]),
        ("Lockouts", ["Locked sign-ins"]),
        ("Tasks", ["Tasks"]),
    ]
    # The sidebar on every page lists the same sections.
    page = admin_http.get(reverse("admin:oidc_client_changelist"))
    assert [name for name, _ in _sections_of_sidebar(page)] == [name for name, _ in sections]


def _sections_of_sidebar(response):
    return [(app["name"], app["models"]) for app in response.context["available_apps"]]


def test_axes_logs_are_not_in_the_admin(admin_http):
    for model in (AccessLog, AccessFailureLog):
        assert not admin.site.is_registered(model), model
    html = admin_http.get(reverse("admin:index")).content.decode()
    assert "Access attempts" not in html and "Access logs" not in html and "Axes" not in html


def test_the_grant_type_filter_lists_only_grants_signet_creates(admin_http, rp_client):
    page = admin_http.get(reverse("admin:oidc_client_changelist"))
    [grant_filter] = [f for f in page.context["cl"].filter_specs if f.title == "grant type"]
    offered = [choice["display"] for choice in grant_filter.choices(page.context["cl"])]
    assert offered == [
        "All",
        "Authorization code",
        "Client credentials",
        "Resource owner password-based",
        "Device Code",
    ]
    listed = admin_http.get(reverse("admin:oidc_client_changelist"), {"authorization_grant_type": "password"})
    assert rp_client[0].client_id not in listed.content.decode()


def test_a_bad_redirect_uri_list_gets_one_error_naming_the_bad_uris(admin_http):
    response = admin_http.post(
        ADD, _client_form(redirect_uris="https://ok.example.com/cb\nnot a uri\nftp://x.example.com/")
    )
    errors = response.context["adminform"].form.errors["redirect_uris"]
    assert len(errors) == 1, errors
    assert errors[0].startswith("Not a valid redirect URI: not, a, uri, ftp://x.example.com/.")
    assert not Client.objects.filter(name="Billing").exists()


def test_a_client_credentials_client_gets_no_user_scopes_in_the_admin(admin_http):
    form = {**_client_form(authorization_grant_type="client-credentials", redirect_uris="")}
    form["allowed_scopes"] = "openid profile email offline_access"  # the add form's initial value
    created = admin_http.post(ADD, form)
    assert created.status_code == 200  # the page that shows the secret
    assert Client.objects.get(name="Billing").allowed_scopes == ""
    refused = admin_http.post(ADD, {**form, "name": "Other", "allowed_scopes": "email"})
    errors = refused.context["adminform"].form.errors["allowed_scopes"]
    assert errors == ["A client-credentials client acts for itself and gets no user scopes (email)."]


def test_an_audit_actor_shows_as_the_users_email_with_their_id_linking_to_them(admin_http, user):
    audit("consent.revoked", actor=user)
    audit("login.failed", actor="typed@example.com")
    audit("client.created", actor="cli:alice")
    rows = admin_http.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    link = reverse("admin:accounts_user_change", args=[user.pk])
    assert f'alice@example.com (<a href="{link}">{user.pk}</a>)' in rows
    assert "typed@example.com" in rows and "cli:alice" in rows
    event = AuditEvent.objects.get(event="consent.revoked")
    detail = admin_http.get(reverse("admin:audit_auditevent_change", args=[event.pk])).content.decode()
    assert f'alice@example.com (<a href="{link}">{user.pk}</a>)' in detail
    # Searching for the email finds the events stored under the id.
    found = admin_http.get(reverse("admin:audit_auditevent_changelist"), {"q": "alice@example"})
    assert f'href="{link}"' in found.content.decode()


def test_an_audit_actor_whose_user_was_deleted_says_so(admin_http, django_user_model):
    gone = django_user_model.objects.create_user("gone@example.com")
    audit("login.succeeded", actor=gone)
    pk = gone.pk
    gone.delete()
    rows = admin_http.get(reverse("admin:audit_auditevent_changelist")).content.decode()
    assert f"deleted user ({pk})" in rows


# --- Lockouts ------------------------------------------------------------------------------------


def _failures(username, address, count, *, minutes_ago=1, agent="test"):
    AccessAttempt.objects.create(
        username=username,
        ip_address=address,
        user_agent=agent,
        failures_since_start=count,
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/accounts/login/",
    )
    AccessAttempt.objects.filter(username=username, ip_address=address, user_agent=agent).update(
        attempt_time=timezone.now() - timedelta(minutes=minutes_ago)
    )


def _table(html, kind):
    match = re.search(rf'<table class="lockouts" data-kind="{kind}">(.*?)</table>', html, re.S)
    return match.group(1) if match else ""


def test_the_lockouts_page_lists_what_is_locked_now_only(admin_http, settings):
    settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    _failures("alice@example.com", "203.0.113.5", 5)  # a pair lock (limit 5)
    _failures("bob@example.com", "203.0.113.5", 4)  # with alice's, the address reaches 9 >= 8
    _failures("carol@example.com", "198.51.100.7", 5, minutes_ago=20)  # aged out of the 15 minutes
    _failures("dave@example.com", "198.51.100.8", 2)  # below every limit
    html = admin_http.get(LOCKOUTS).content.decode()
    pairs, addresses = _table(html, "pair"), _table(html, "address")
    assert "alice@example.com" in pairs and "bob@example.com" not in pairs
    assert "203.0.113.5" in addresses and "198.51.100" not in addresses
    assert "carol" not in html and "dave" not in html
    assert 'name="kind" value="pair"' in pairs


def test_unlocking_a_pair_forgets_its_failures_only_and_is_audited(admin_http, operator):
    _failures("alice@example.com", "203.0.113.5", 5)
    _failures("alice@example.com", "198.51.100.7", 3)
    response = admin_http.post(
        UNLOCK, {"kind": "pair", "username": "alice@example.com", "ip_address": "203.0.113.5"}
    )
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]
    event = AuditEvent.objects.get(event="lockout.cleared")
    assert event.actor == str(operator.pk)
    assert event.data == {"kind": "pair", "username": "alice@example.com", "address": "203.0.113.5"}
    assert "alice@example.com" not in _table(admin_http.get(LOCKOUTS).content.decode(), "pair")


def test_unlock_needs_post_a_named_lock_and_the_permission(admin_http, client, django_user_model):
    _failures("alice@example.com", "203.0.113.5", 5)
    assert admin_http.get(UNLOCK).status_code == 405
    admin_http.post(UNLOCK, {"kind": "pair", "username": "alice@example.com"})  # no address
    assert AccessAttempt.objects.count() == 1
    viewer = django_user_model.objects.create_user("viewer@example.com", "viewer password 123", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_accessattempt"))
    client.force_login(viewer)
    page = client.get(LOCKOUTS).content.decode()
    assert "alice@example.com" in page and 'value="Unlock"' not in page
    refused = client.post(
        UNLOCK, {"kind": "pair", "username": "alice@example.com", "ip_address": "203.0.113.5"}
    )
    assert refused.status_code == 403 and AccessAttempt.objects.count() == 1
