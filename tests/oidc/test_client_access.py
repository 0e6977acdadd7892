"""Per-client access: a client restricted to groups serves only their members.

A signed-in user outside them sees Signet's own page (403); the relying party hears access_denied
only when the user goes back to it, or at once under prompt=none. Membership is checked again at
the code exchange and at every refresh: a user taken out of the group loses the grant.
"""

import pytest
import requests
from django.contrib.auth.models import Group

from provider.audit.models import AuditEvent
from provider.oidc import access_policy, client_cache
from provider.oidc.models import TokenFamily
from provider.oidc.services import client_set_allowed_groups
from tests.oidc.flows import PASSWORD, Flow, is_consent_page, is_login_page
from tests.support.browser import forms

pytestmark = pytest.mark.django_db(transaction=True)

REFUSAL = "Your account is not allowed to use Team Wiki"


@pytest.fixture
def team(db):
    return Group.objects.create(name="team")


@pytest.fixture
def wiki(issuer, browser, team):
    """A client only the `team` group may use."""
    from provider.oidc.services import client_create

    client, secret = client_create(
        name="Team Wiki",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=["https://wiki.example.com/cb"],
        scopes=["openid", "profile", "offline_access"],
        allowed_groups=["team"],
    )
    return Flow(
        issuer=issuer,
        browser=browser,
        client=client,
        secret=secret,
        redirect_uri="https://wiki.example.com/cb",
    )


def signed_in_page(flow, **params):
    """GET /authorize as the (signed-in after the login form) user: the page Signet answers with."""
    response = flow.authorize(**params)
    if is_login_page(response):
        response = flow.log_in(response)
    return response


def test_a_member_signs_in_as_usual(wiki, user, team):
    user.groups.add(team)

    tokens = wiki.tokens(scope="openid profile")

    assert wiki.id_token_claims(tokens["id_token"])["sub"] == str(user.pk)


def test_a_user_outside_the_groups_sees_signets_page_not_an_error_at_the_client(wiki, user):
    response = signed_in_page(wiki)

    assert response.status_code == 403
    assert response.url.startswith(wiki.issuer + "/authorize")  # still at Signet: nothing reached the RP
    assert REFUSAL in response.text
    assert "Go back to Team Wiki" in response.text
    assert not is_consent_page(response)


def test_going_back_sends_access_denied_with_state_and_iss(wiki, user):
    response = signed_in_page(wiki)
    state = wiki.last_params["state"]

    back = wiki.browser.submit(response, button="cancel")

    params = wiki.at_relying_party(back)
    assert params["error"] == "access_denied"
    assert params["state"] == state
    assert params["iss"] == wiki.issuer
    assert "code" not in params


def test_the_go_back_form_needs_its_csrf_token(wiki, user):
    response = signed_in_page(wiki)
    form = forms(response.text)[0]
    fields = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}

    forged = wiki.browser.http.post(response.url, data=fields, allow_redirects=False, timeout=10)

    assert forged.status_code == 403
    assert "Location" not in forged.headers


def test_an_allow_posted_by_a_user_outside_the_groups_gets_no_code(wiki, user):
    response = signed_in_page(wiki)

    # The refusal page's hidden fields, posted as an "Allow" (as a consent page would).
    answer = wiki.browser.submit(response, fields={"allow": "Authorize"})

    params = wiki.at_relying_party(answer)
    assert params["error"] == "access_denied" and "code" not in params


def test_a_tampered_redirect_uri_on_the_go_back_form_is_a_page_not_a_redirect(wiki, user):
    response = signed_in_page(wiki)

    answer = wiki.browser.submit(
        response, fields={"redirect_uri": "https://evil.example/cb"}, button="cancel"
    )

    assert answer.status_code == 400 and "Location" not in answer.headers


def test_prompt_none_answers_access_denied_at_once(wiki, user):
    signed_in_page(wiki)  # signs in; the refusal page is shown and left

    response = wiki.authorize(prompt="none")

    params = wiki.at_relying_party(response)
    assert params["error"] == "access_denied"
    assert params["state"] == wiki.last_params["state"]
    assert params["iss"] == wiki.issuer
    assert "not allowed" in params["error_description"]


def test_prompt_none_without_a_session_is_still_login_required(wiki, user):
    params = wiki.at_relying_party(wiki.authorize(prompt="none"))

    assert params["error"] == "login_required"


def test_a_client_without_allowed_groups_serves_everyone(flow, user):
    assert "code" in flow.sign_in()


def test_leaving_the_group_between_sign_in_and_exchange_refuses_the_code(wiki, user, team):
    user.groups.add(team)
    params = wiki.sign_in()
    user.groups.remove(team)

    response = wiki.exchange(params["code"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not TokenFamily.objects.exists()


def test_removal_from_the_group_ends_the_grant_at_the_next_refresh(wiki, user, team):
    user.groups.add(team)
    tokens = wiki.tokens(scope="openid offline_access")
    rotated = wiki.refresh(tokens["refresh_token"])  # a member refreshes
    assert rotated.status_code == 200, rotated.text
    grant = TokenFamily.objects.get()
    user.groups.remove(team)

    refused = wiki.refresh(rotated.json()["refresh_token"])

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    event = AuditEvent.objects.get(event="token.access_removed")
    assert event.actor == str(user.pk) and event.client_id == wiki.client.client_id
    assert event.data["token_family"] == str(grant.family)


def test_a_revoked_grants_tokens_stop_at_userinfo(wiki, user, team):
    user.groups.add(team)
    tokens = wiki.tokens(scope="openid offline_access")
    rotated = wiki.refresh(tokens["refresh_token"]).json()
    user.groups.remove(team)

    assert wiki.refresh(rotated["refresh_token"]).json()["error"] == "invalid_grant"

    assert wiki.userinfo(rotated["access_token"]).status_code == 401


def test_joining_again_does_not_bring_a_revoked_grant_back(wiki, user, team):
    user.groups.add(team)
    tokens = wiki.tokens(scope="openid offline_access")
    user.groups.remove(team)
    assert wiki.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    user.groups.add(team)

    again = wiki.refresh(tokens["refresh_token"])

    assert again.json()["error"] == "invalid_grant" and "access_token" not in again.json()
    assert "code" in wiki.sign_in()  # a member again: a new sign-in is a new grant


def test_allowing_a_group_later_lets_its_members_in(wiki, user, team):
    assert signed_in_page(wiki).status_code == 403
    Group.objects.create(name="guests").user_set.add(user)

    client_set_allowed_groups(client=wiki.client, names=["team", "guests"])

    params = wiki.sign_in()
    assert "code" in params


def test_hostile_bytes_on_the_go_back_form_are_refused_without_a_500(wiki, user):
    response = signed_in_page(wiki)
    form = forms(response.text)[0]
    body = "&".join(f"{k}={requests.utils.quote(v)}" for k, v in form["fields"].items()) + "&state=%FF%FE%00"

    answer = wiki.browser.http.post(
        response.url,
        data=body.encode("latin-1"),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": response.url},
        allow_redirects=False,
        timeout=10,
    )

    assert answer.status_code < 500


# --- the other grants that start a user's grant ------------------------------------------------
def test_the_password_grant_refuses_a_user_outside_the_groups(issuer, user, team):
    from provider.oidc.services import client_create

    client, secret = client_create(
        name="Legacy", client_type="confidential", grant="password", allowed_groups=["team"]
    )
    data = {"grant_type": "password", "username": user.email, "password": PASSWORD, "scope": "openid"}

    refused = requests.post(f"{issuer}/token", data=data, auth=(client.client_id, secret), timeout=10)

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert not TokenFamily.objects.exists()
    user.groups.add(team)
    allowed = requests.post(f"{issuer}/token", data=data, auth=(client.client_id, secret), timeout=10)
    assert allowed.status_code == 200, allowed.text


def test_the_device_grant_refuses_a_user_outside_the_groups(issuer, user, team):
    from provider.oidc import device
    from provider.oidc.models import DeviceAuthorization
    from provider.oidc.services import client_create

    tv, _ = client_create(name="TV", client_type="public", grant="device-code", allowed_groups=["team"])
    started = requests.post(f"{issuer}/device/authorize", data={"client_id": tv.client_id}, timeout=10).json()
    device.device_authorization_decide(row=DeviceAuthorization.objects.get(), user=user, approve=True)
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": started["device_code"],
        "client_id": tv.client_id,
    }

    refused = requests.post(f"{issuer}/token", data=poll, timeout=10)

    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    assert not TokenFamily.objects.exists()
    user.groups.add(team)
    assert requests.post(f"{issuer}/token", data=poll, timeout=10).status_code == 200


# --- the rule itself --------------------------------------------------------------------------
def test_the_rule_costs_no_query_for_an_open_client(flow, user, django_assert_num_queries):
    access_policy.user_may_use(flow.client, user)  # the client's (empty) groups are now cached

    with django_assert_num_queries(0):
        assert access_policy.user_may_use(flow.client, user)


def test_the_rule_costs_one_query_for_a_restricted_client(wiki, user, team, django_assert_num_queries):
    access_policy.user_may_use(wiki.client, user)

    with django_assert_num_queries(1) as captured:
        assert not access_policy.user_may_use(wiki.client, user)
    sql = captured.captured_queries[0]["sql"]
    assert "accounts_user_groups" in sql and "LIMIT 1" in sql, sql  # one indexed lookup, no join


def test_a_change_of_allowed_groups_is_seen_at_once(wiki, user, team, settings):
    settings.SIGNET_CLIENT_CACHE_SECONDS = 3600
    assert not access_policy.user_may_use(wiki.client, user)

    wiki.client.allowed_groups.clear()  # through the relation: no save() of the client

    assert access_policy.user_may_use(wiki.client, user)
    client_cache.clear()


def test_the_cached_groups_follow_a_group_deletion(wiki, user, team, settings):
    settings.SIGNET_CLIENT_CACHE_SECONDS = 3600
    assert not access_policy.user_may_use(wiki.client, user)

    # Deleted from under the client (the groups command and the admin refuse to: test_groups_command),
    # it leaves a client with no allowed group, which serves everyone.
    team.delete()

    assert access_policy.user_may_use(wiki.client, user)
