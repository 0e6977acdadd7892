"""Groups in the admin, under Users: members chosen on the group's page, every change audited, and a
group a client is restricted to cannot be deleted. Clients choose their allowed groups."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from provider.audit.models import AuditEvent
from provider.oidc.models import Client
from provider.oidc.services import client_create

pytestmark = pytest.mark.django_db


def events(name):
    return list(AuditEvent.objects.filter(event=name).order_by("id"))


def test_groups_sit_in_the_users_section(admin_http):
    page = admin_http.get(reverse("admin:index")).content.decode()

    users = page.index(">Users<")
    assert users < page.index(reverse("admin:auth_group_changelist")) < page.index(">Signing keys<")


def test_a_group_made_with_members_is_audited(admin_http, user, operator):
    response = admin_http.post(
        reverse("admin:auth_group_add"), {"name": "admins", "members": [str(user.pk)], "permissions": []}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(user.groups.values_list("name", flat=True)) == ["admins"]
    assert [e.data["group"] for e in events("group.created")] == ["admins"]
    [added] = events("group.member_added")
    assert added.data == {"group": "admins", "user": str(user.pk), "email": user.email}
    assert added.actor == str(operator.pk)


def test_members_removed_on_the_groups_page_are_audited(admin_http, user):
    group = Group.objects.create(name="admins")
    group.user_set.add(user)
    change = reverse("admin:auth_group_change", args=[group.pk])
    assert f'value="{user.pk}" selected' in admin_http.get(change).content.decode()

    response = admin_http.post(change, {"name": "admins", "members": [], "permissions": []})

    assert response.status_code == 302
    assert not user.groups.exists()
    assert [e.data["email"] for e in events("group.member_removed")] == [user.email]
    assert events("group.updated") == []  # only the members changed, and they have their own events


def test_the_list_shows_members_and_the_clients_only_they_may_use(admin_http, user):
    Group.objects.create(name="admins").user_set.add(user)
    client_create(
        name="Payroll",
        client_type="public",
        grant="authorization-code",
        redirect_uris=["https://p.example.com/cb"],
        allowed_groups=["admins"],
    )

    page = admin_http.get(reverse("admin:auth_group_changelist")).content.decode()

    assert "admins" in page and "Payroll" in page


def test_a_group_a_client_is_restricted_to_cannot_be_deleted(admin_http):
    group = Group.objects.create(name="admins")
    client, _ = client_create(
        name="Payroll",
        client_type="public",
        grant="authorization-code",
        redirect_uris=["https://p.example.com/cb"],
        allowed_groups=["admins"],
    )
    delete = reverse("admin:auth_group_delete", args=[group.pk])

    assert admin_http.post(delete, {"post": "yes"}).status_code == 403
    bulk = admin_http.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [group.pk], "post": "yes"},
    )
    assert bulk.status_code == 403
    assert Group.objects.filter(pk=group.pk).exists()

    client.allowed_groups.clear()
    assert admin_http.post(delete, {"post": "yes"}).status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()
    assert [e.data["group"] for e in events("group.deleted")] == ["admins"]


def test_a_client_chooses_its_allowed_groups_and_the_groups_claim(admin_http):
    group = Group.objects.create(name="finance")
    client, _ = client_create(
        name="Payroll",
        client_type="public",
        grant="authorization-code",
        redirect_uris=["https://p.example.com/cb"],
    )
    change = reverse("admin:oidc_client_change", args=[client.pk])
    page = admin_http.get(change).content.decode()
    assert 'name="allowed_groups"' in page and "selectfilter" in page  # filter_horizontal
    assert 'name="groups_in_access_token"' in page

    form = {
        "name": "Payroll",
        "client_type": "public",
        "authorization_grant_type": "authorization-code",
        "redirect_uris": "https://p.example.com/cb",
        "post_logout_redirect_uris": "",
        "allowed_scopes": "openid groups",
        "audiences": "",
        "is_active": "on",
        "allowed_groups": [str(group.pk)],
        "groups_in_access_token": "on",
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg,
    }
    response = admin_http.post(change, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    client = Client.objects.get(pk=client.pk)
    assert list(client.allowed_groups.values_list("name", flat=True)) == ["finance"]
    assert client.groups_in_access_token and client.scope_list == ["openid", "groups"]
    assert {"allowed_groups", "groups_in_access_token"} <= set(events("client.updated")[-1].data["fields"])
