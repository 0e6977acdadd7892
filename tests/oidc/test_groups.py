"""The `groups` scope and claim: ID token, userinfo and (for clients that ask) the access token."""

import jwt
import pytest
import requests
from django.contrib.auth.models import Group

from provider.oidc.claims import claims_for
from tests.conftest import POST_LOGOUT_URI, REDIRECT_URI
from tests.oidc.flows import Flow, is_consent_page, is_login_page

pytestmark = pytest.mark.django_db(transaction=True)


def make_client(**kwargs):
    from provider.oidc.services import client_create

    return client_create(
        name=kwargs.pop("name", "Groups RP"),
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
        scopes=["openid", "profile", "groups", "offline_access"],
        audiences=["https://api.example.com"],
        **kwargs,
    )


@pytest.fixture
def member(user):
    # Created out of order: the claim is sorted whatever the database returns.
    for name in ("staff", "admins"):
        user.groups.add(Group.objects.create(name=name))
    Group.objects.create(name="others")  # a group the user is not in is never named
    return user


@pytest.fixture
def groups_flow(issuer, browser):
    client, secret = make_client()
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


@pytest.fixture
def at_groups_flow(issuer, browser):
    """A client set to put the user's groups in its access tokens."""
    client, secret = make_client(name="Groups API client", groups_claim=True)
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


def access_token_claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_the_groups_scope_puts_sorted_group_names_in_the_id_token_and_userinfo(groups_flow, member):
    tokens = groups_flow.tokens(scope="openid groups")

    assert groups_flow.id_token_claims(tokens["id_token"])["groups"] == ["admins", "staff"]
    userinfo = groups_flow.userinfo(tokens["access_token"])
    assert userinfo.status_code == 200
    assert userinfo.json() == {"sub": str(member.pk), "groups": ["admins", "staff"]}


def test_without_the_scope_no_groups_anywhere(at_groups_flow, member):
    tokens = at_groups_flow.tokens(scope="openid profile")

    assert "groups" not in at_groups_flow.id_token_claims(tokens["id_token"])
    assert "groups" not in at_groups_flow.userinfo(tokens["access_token"]).json()
    assert "groups" not in access_token_claims(tokens["access_token"])


def test_the_access_token_carries_groups_only_for_a_client_that_asks(groups_flow, at_groups_flow, member):
    plain = groups_flow.tokens(scope="openid groups")
    assert "groups" not in access_token_claims(plain["access_token"])

    asking = at_groups_flow.tokens(scope="openid groups")
    assert access_token_claims(asking["access_token"])["groups"] == ["admins", "staff"]


def test_a_refreshed_token_names_the_groups_of_now(at_groups_flow, member):
    tokens = at_groups_flow.tokens(scope="openid groups offline_access")
    member.groups.remove(Group.objects.get(name="staff"))

    refreshed = at_groups_flow.refresh(tokens["refresh_token"])

    assert refreshed.status_code == 200, refreshed.text
    assert access_token_claims(refreshed.json()["access_token"])["groups"] == ["admins"]
    assert at_groups_flow.id_token_claims(refreshed.json()["id_token"], nonce=None)["groups"] == ["admins"]


def test_a_user_in_no_group_gets_an_empty_list(groups_flow, user):
    tokens = groups_flow.tokens(scope="openid groups")

    assert groups_flow.id_token_claims(tokens["id_token"])["groups"] == []


def test_a_client_not_allowed_the_scope_cannot_get_it(flow, member):
    params = flow.sign_in(scope="openid groups")

    assert params["error"] == "invalid_scope"


def test_the_consent_page_says_what_the_scope_gives(groups_flow, member):
    response = groups_flow.authorize(scope="openid groups")
    if is_login_page(response):
        response = groups_flow.log_in(response)

    assert is_consent_page(response)
    assert "See which groups you belong to" in response.text


def test_discovery_lists_the_scope_and_the_claim(issuer):
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()

    assert "groups" in metadata["scopes_supported"]
    assert "groups" in metadata["claims_supported"]


def test_the_claims_parameter_can_ask_for_groups_when_the_scope_was_approved(groups_flow, member):
    claims = '{"id_token": {"groups": null}}'
    tokens = groups_flow.tokens(scope="openid groups", claims=claims)

    assert groups_flow.id_token_claims(tokens["id_token"])["groups"] == ["admins", "staff"]


# --- the pure rule ------------------------------------------------------------------------------
def test_claims_for_reads_groups_only_when_they_are_released(member, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert "groups" not in claims_for(member, ["openid", "profile"])
    with django_assert_num_queries(1):
        assert claims_for(member, ["openid", "groups"])["groups"] == ["admins", "staff"]
