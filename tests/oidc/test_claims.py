"""ID token contents (OIDC Core 2, 3.1.3.6), claims by scope (5.4) and the `claims` parameter (5.5)."""

import time

import pytest

from tests.oidc.flows import at_hash, claims_param

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_id_token_carries_every_required_claim(flow, user):
    before = int(time.time())
    tokens = flow.tokens()
    claims = flow.id_token_claims(tokens["id_token"])
    assert claims["iss"] == flow.issuer
    assert claims["sub"] == str(user.pk)
    assert claims["aud"] == flow.client.client_id
    assert "azp" not in claims  # one audience
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] > claims["iat"]
    assert before - 60 <= claims["auth_time"] <= int(time.time())
    assert claims["nonce"] == flow.last_params["nonce"]
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["amr"] == ["pwd"]
    assert isinstance(claims["sid"], str) and len(claims["sid"]) >= 16
    assert "acr" not in claims


def test_openid_alone_releases_only_the_subject(flow, user):
    tokens = flow.tokens(scope="openid")
    assert flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    claims = flow.id_token_claims(tokens["id_token"])
    assert not {"email", "name", "given_name"} & set(claims)


def test_profile_scope_releases_the_profile_claims(flow, user):
    tokens = flow.tokens(scope="openid profile")
    info = flow.userinfo(tokens["access_token"]).json()
    assert info["name"] == "Alice Liddell"
    assert info["given_name"] == "Alice" and info["family_name"] == "Liddell"
    assert info["updated_at"] == int(user.updated_at.timestamp())
    assert "email" not in info
    assert flow.id_token_claims(tokens["id_token"])["name"] == "Alice Liddell"


def test_email_scope_releases_email_and_its_verification(flow, user):
    info = flow.userinfo(flow.tokens(scope="openid email")["access_token"]).json()
    assert info == {"sub": str(user.pk), "email": "alice@example.com", "email_verified": True}


def test_an_unverified_email_says_so(flow, bob):
    info = flow.userinfo(flow.tokens(scope="openid email", email="bob@example.com")["access_token"]).json()
    assert info["email_verified"] is False


def test_essential_userinfo_claims_from_the_claims_parameter(flow, user):
    # oidcc-claims-essential: only `openid` as scope, `name` asked for as essential.
    tokens = flow.tokens(scope="openid", claims=claims_param({"userinfo": {"name": {"essential": True}}}))
    info = flow.userinfo(tokens["access_token"]).json()
    assert info == {"sub": str(user.pk), "name": "Alice Liddell"}
    assert "name" not in flow.id_token_claims(tokens["id_token"])  # asked for userinfo only


def test_id_token_claims_from_the_claims_parameter(flow, user):
    tokens = flow.tokens(
        scope="openid", claims=claims_param({"id_token": {"email": None, "given_name": None}})
    )
    claims = flow.id_token_claims(tokens["id_token"])
    assert claims["email"] == "alice@example.com" and claims["given_name"] == "Alice"
    assert flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}


def test_claims_of_a_scope_the_client_may_not_have_are_not_released(narrow_flow, user):
    wanted = claims_param({"userinfo": {"email": {"essential": True}}, "id_token": {"email": None}})
    tokens = narrow_flow.tokens(claims=wanted)
    assert narrow_flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    assert "email" not in narrow_flow.id_token_claims(tokens["id_token"])


def test_claims_signet_does_not_hold_are_left_out_not_invented(flow, user):
    wanted = claims_param({"userinfo": {"phone_number": {"essential": True}, "email": None}})
    info = flow.userinfo(flow.tokens(claims=wanted)["access_token"]).json()
    assert info == {"sub": str(user.pk), "email": "alice@example.com"}


def test_the_userinfo_claims_request_survives_a_refresh(flow, user):
    tokens = flow.tokens(
        scope="openid offline_access", claims=claims_param({"userinfo": {"family_name": {"essential": True}}})
    )
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    info = flow.userinfo(refreshed.json()["access_token"]).json()
    assert info["family_name"] == "Liddell"


def test_acr_asked_for_through_the_claims_parameter(flow, user):
    tokens = flow.tokens(claims=claims_param({"id_token": {"acr": {"values": ["1", "2"]}}}))
    assert flow.id_token_claims(tokens["id_token"])["acr"] == "1"


def test_an_essential_acr_signet_cannot_meet_is_refused(flow, user):
    wanted = claims_param(
        {"id_token": {"acr": {"essential": True, "values": ["urn:mace:incommon:iap:silver"]}}}
    )
    params = flow.at_relying_party(flow.authorize(claims=wanted))
    assert params["error"] == "access_denied"


def test_a_requested_sub_that_is_not_the_session_user_is_login_required(flow, user, bob):
    flow.tokens()
    wanted = claims_param({"id_token": {"sub": {"value": str(bob.pk)}}})
    params = flow.at_relying_party(flow.authorize(prompt="none", claims=wanted))
    assert params["error"] == "login_required"


@pytest.mark.parametrize(
    "claims",
    ["not json", "[1, 2]", '{"userinfo": ["email"]}', '{"id_token": {"email": true}}'],
)
def test_a_malformed_claims_parameter_is_invalid_request(flow, claims):
    params = flow.at_relying_party(flow.authorize(claims=claims))
    assert params["error"] == "invalid_request"
    assert "claims" in params["error_description"]


def test_auth_time_is_this_browser_sessions_not_the_users_last_login(flow, user, other_browser):
    from tests.oidc.flows import age_authentication

    flow.tokens()
    aged = age_authentication(flow.browser, 300)
    other = type(flow)(issuer=flow.issuer, browser=other_browser, client=flow.client, secret=flow.secret)
    other.tokens()  # the same user signs in elsewhere: user.last_login moves, this session does not
    params = flow.at_relying_party(flow.authorize(prompt="none"))
    assert flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])["auth_time"] == aged


def test_an_id_token_from_a_refresh_keeps_the_sign_ins_auth_time_and_sid(flow, user):
    tokens = flow.tokens(scope="openid offline_access")
    first = flow.id_token_claims(tokens["id_token"])
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    again = flow.id_token_claims(refreshed.json()["id_token"], nonce=None)
    assert again["sub"] == first["sub"]
    assert again["auth_time"] == first["auth_time"]
    assert again["sid"] == first["sid"]


def test_an_id_token_from_a_refresh_keeps_the_acr_the_sign_in_was_given(flow, user):
    tokens = flow.tokens(scope="openid offline_access", acr_values="1")
    assert flow.id_token_claims(tokens["id_token"])["acr"] == "1"
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert flow.id_token_claims(refreshed.json()["id_token"], nonce=None)["acr"] == "1"
    # A sign-in that did not ask for acr gets none on refresh either.
    plain = flow.refresh(flow.tokens(scope="openid offline_access")["refresh_token"]).json()
    assert "acr" not in flow.id_token_claims(plain["id_token"], nonce=None)


def test_an_id_token_from_a_refresh_repeats_the_claims_the_sign_in_asked_for(flow, user):
    wanted = claims_param({"id_token": {"email": None}, "userinfo": {"name": None}})
    tokens = flow.tokens(scope="openid offline_access", claims=wanted)
    assert flow.id_token_claims(tokens["id_token"])["email"] == "alice@example.com"
    refreshed = flow.refresh(tokens["refresh_token"]).json()
    again = flow.id_token_claims(refreshed["id_token"], nonce=None)
    assert again["email"] == "alice@example.com"
    assert "name" not in again  # asked for at userinfo only
    assert flow.userinfo(refreshed["access_token"]).json()["name"] == "Alice Liddell"


def _allow_scopes(client, scopes):
    """What an operator does in the admin or the CLI: change the scopes a client may have."""
    client.allowed_scopes = scopes
    client.save(update_fields=["allowed_scopes", "updated"])


def test_claims_asked_for_beyond_the_allowed_scopes_stay_unreleased_when_the_operator_allows_them(
    narrow_flow, user
):
    """Issue 14, finding 3: the consent page never showed `email`, so no later change releases it."""
    from provider.oidc.models import TokenFamily

    wanted = claims_param({"userinfo": {"email": None}, "id_token": {"email": None}})
    tokens = narrow_flow.tokens(claims=wanted)
    assert narrow_flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    # The grant did not keep what the user never saw.
    grant = TokenFamily.objects.get()
    assert not grant.userinfo_claims and not grant.id_token_claims

    _allow_scopes(narrow_flow.client, "openid email")

    assert narrow_flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    refreshed = narrow_flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert "email" not in narrow_flow.id_token_claims(refreshed.json()["id_token"], nonce=None)
    assert narrow_flow.userinfo(refreshed.json()["access_token"]).json() == {"sub": str(user.pk)}
    # Asking again now shows email on the consent page: approving it there releases it.
    page = narrow_flow.authorize(claims=wanted)
    assert "See your email address" in page.text
    params = narrow_flow.at_relying_party(narrow_flow.allow(page))
    again = narrow_flow.exchange(params["code"]).json()
    assert narrow_flow.userinfo(again["access_token"]).json()["email"] == "alice@example.com"


def test_a_scope_the_operator_removes_is_no_longer_released_or_refreshed(flow, user):
    """Issue 14, finding 3: existing grants lose a scope with the client, at userinfo and refresh."""
    from tests.tokens.conftest import unverified

    tokens = flow.tokens(scope="openid profile email", claims=claims_param({"id_token": {"email": None}}))
    assert flow.userinfo(tokens["access_token"]).json()["email"] == "alice@example.com"

    _allow_scopes(flow.client, "openid profile offline_access")

    info = flow.userinfo(tokens["access_token"]).json()
    assert "email" not in info and info["name"] == "Alice Liddell"
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["scope"].split() == ["openid", "profile"]
    assert unverified(body["access_token"])["scope"].split() == ["openid", "profile"]
    assert "email" not in flow.id_token_claims(body["id_token"], nonce=None)
    assert "email" not in flow.userinfo(body["access_token"]).json()
    # Nor may the client ask for it back by name at the refresh.
    back = flow.token_request(
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "scope": "openid email"}
    )
    assert back.status_code == 400 and back.json()["error"] == "invalid_scope"


def test_a_grant_stored_with_such_claims_before_the_fix_does_not_release_them_either(narrow_flow, user):
    """Issue 14, finding 3: grants made before the fix kept the whole claims request; userinfo and
    refresh go by the consent on record, which never included `email`."""
    from provider.oidc.models import TokenFamily

    tokens = narrow_flow.tokens()
    # What the claims parameter left with the grant before the fix.
    updated = TokenFamily.objects.update(
        userinfo_claims={"userinfo": {"email": None}}, id_token_claims={"id_token": {"email": None}}
    )
    assert updated == 1
    _allow_scopes(narrow_flow.client, "openid email")

    assert narrow_flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    refreshed = narrow_flow.refresh(tokens["refresh_token"]).json()
    assert "email" not in narrow_flow.id_token_claims(refreshed["id_token"], nonce=None)
    assert narrow_flow.userinfo(refreshed["access_token"]).json() == {"sub": str(user.pk)}
