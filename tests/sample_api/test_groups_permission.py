"""The sample API's /admin-only/: the access token's `groups` claim decides (HasGroup), offline."""

import pytest
from django.contrib.auth.models import Group

from tests.sample_api.conftest import AUDIENCE
from tests.sample_api.tokens import (
    access_claims,
    api_client,
    client_credentials_token,
    code_flow_tokens,
    provider_signed,
)

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://rp.example.com/callback"


def groups_client(**kwargs):
    from provider.oidc.services import client_create

    return client_create(
        name="Admin console",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        audiences=[AUDIENCE],
        scopes=["openid", "profile", "groups"],
        groups_claim=True,
        **kwargs,
    )


def token_of(browser, issuer, user, scope="openid profile groups"):
    client, secret = groups_client()
    return code_flow_tokens(browser, issuer, user, client, secret, REDIRECT_URI, scope=scope)["access_token"]


def test_a_member_of_the_required_group_gets_in(issuer, sample_api, browser, user):
    user.groups.add(Group.objects.create(name="admins"))

    response = sample_api.get("/admin-only/", token_of(browser, issuer, user))

    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Hello, member of admins!", "sub": str(user.pk), "group": "admins"}


def test_a_user_outside_the_group_is_refused(issuer, sample_api, browser, user):
    user.groups.add(Group.objects.create(name="staff"))

    response = sample_api.get("/admin-only/", token_of(browser, issuer, user))

    assert response.status_code == 403
    assert "admins" in response.json()["detail"]


def test_a_token_without_the_groups_scope_is_refused(issuer, sample_api, browser, user):
    user.groups.add(Group.objects.create(name="admins"))

    response = sample_api.get("/admin-only/", token_of(browser, issuer, user, scope="openid profile"))

    assert response.status_code == 403


def test_the_required_group_is_a_setting(issuer, sample_api_factory, browser, user):
    user.groups.add(Group.objects.create(name="auditors"))
    api = sample_api_factory(RESOURCE_REQUIRED_GROUP="auditors")

    assert api.get("/admin-only/", token_of(browser, issuer, user)).status_code == 200


def test_a_clients_own_token_is_refused_even_naming_the_group(issuer, sample_api):
    client, secret = api_client(AUDIENCE)
    assert sample_api.get("/admin-only/", client_credentials_token(issuer, client, secret)).status_code == 403

    # A client token (sub = client_id, no auth_time) whose groups claim names the group: still no user.
    claims = access_claims(issuer, AUDIENCE, sub="svc", client_id="svc", groups=["admins"])
    claims.pop("auth_time", None)
    assert sample_api.get("/admin-only/", provider_signed(claims)).status_code == 403


@pytest.mark.parametrize("groups", ["admins", {"admins": True}, [["admins"]], [1]])
def test_a_malformed_groups_claim_names_no_group(issuer, sample_api, user, groups):
    claims = access_claims(issuer, AUDIENCE, sub=str(user.pk), groups=groups)

    assert sample_api.get("/admin-only/", provider_signed(claims)).status_code == 403


def test_a_well_formed_signed_claim_is_accepted(issuer, sample_api, user):
    # The control for the malformed cases above: the same token with a list of names gets in.
    claims = access_claims(issuer, AUDIENCE, sub=str(user.pk), groups=["admins"])

    assert sample_api.get("/admin-only/", provider_signed(claims)).status_code == 200


def test_no_token_is_a_bearer_challenge(sample_api):
    response = sample_api.get("/admin-only/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
