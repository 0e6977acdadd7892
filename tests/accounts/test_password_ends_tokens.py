"""A new password ends every token the old one obtained (RFC 6819 5.2.2.3, RFC 9700 4.14), over real HTTP.

The story of issue 14, finding 1: someone who once knew the password signed in to relying parties and
kept their refresh tokens; the owner then changes the password, or resets it by email.
"""

import re

import pytest
import requests

from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.oidc.flows import Flow
from tests.support.browser import Browser
from tests.tokens.conftest import introspect

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 77"


@pytest.fixture
def photos(db):
    """A second relying party, so the revocation is seen to cross clients."""
    from provider.oidc.services import client_create

    return client_create(
        name="Photo <Album>",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
    )


@pytest.fixture
def intruder(issuer, rp_client, photos, user):
    """A browser that signed in with the old password: its flows at both clients and the tokens they got."""
    browser = Browser(issuer)
    example = Flow(issuer=issuer, browser=browser, client=rp_client[0], secret=rp_client[1])
    album = Flow(issuer=issuer, browser=browser, client=photos[0], secret=photos[1])
    online = example.tokens(scope="openid profile")
    online = example.refresh(online["refresh_token"]).json()  # a rotated family ends as well as a new one
    offline = example.tokens(scope="openid offline_access")
    elsewhere = album.tokens(scope="openid offline_access")
    return {"online": (example, online), "offline": (example, offline), "album": (album, elsewhere)}


def assert_every_token_ended(intruder):
    for flow, tokens in intruder.values():
        refreshed = flow.refresh(tokens["refresh_token"])
        assert (refreshed.status_code, refreshed.json().get("error")) == (400, "invalid_grant")
        answer = introspect(flow.issuer, tokens["access_token"], (flow.client.client_id, flow.secret))
        assert answer.json() == {"active": False}
        assert flow.userinfo(tokens["access_token"]).status_code == 401


def assert_one_audit_event(reason, *clients):
    event = AuditEvent.objects.get(event="token.password_changed")
    assert event.data == {"reason": reason, "families": 3, "clients": sorted(c.client_id for c in clients)}
    return event


def signed_in(issuer, user):
    browser = Browser(issuer)
    assert "Your account" in browser.login(browser.get("/accounts/login/"), user.email, PASSWORD).text
    return browser


def test_a_password_change_ends_every_refresh_token_and_its_access_tokens(
    issuer, user, intruder, rp_client, photos
):
    owner = signed_in(issuer, user)
    page = owner.get("/accounts/password/change/")
    page = owner.submit(
        page, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert "Your password was changed." in page.text

    assert_every_token_ended(intruder)
    event = assert_one_audit_event("change", rp_client[0], photos[0])
    assert event.actor == str(user.pk)
    # The intruder's browser session ended too; the owner's, which made the change, did not.
    example = intruder["online"][0]
    assert example.at_relying_party(example.authorize(prompt="none"))["error"] == "login_required"
    assert "Your account" in owner.get("/accounts/profile/").text


def test_a_password_reset_ends_every_refresh_token_and_every_browser_session(
    issuer, user, intruder, rp_client, photos, mailoutbox
):
    other_session = signed_in(issuer, user)
    owner = Browser(issuer)
    owner.submit(owner.get("/accounts/password/reset/"), {"email": user.email})
    link = re.search(r"(http\S+/password/reset/\S+/)", mailoutbox[0].body).group(1)
    form_page = owner.get(link)
    page = owner.submit(form_page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Your password was changed" in page.text

    assert_every_token_ended(intruder)
    assert_one_audit_event("reset", rp_client[0], photos[0])
    example = intruder["online"][0]
    assert example.at_relying_party(example.authorize(prompt="none"))["error"] == "login_required"
    assert "Sign in" in other_session.get("/accounts/profile/").text
    assert "will have to sign you in again" in form_page.text  # said before the user confirmed


def test_the_password_page_names_the_apps_that_will_have_to_sign_in_again(issuer, user, rp_client, photos):
    owner = signed_in(issuer, user)
    assert "No app is signed in" in owner.get("/accounts/password/change/").text

    intruder = Browser(issuer)
    example = Flow(issuer=issuer, browser=intruder, client=rp_client[0], secret=rp_client[1])
    album = Flow(issuer=issuer, browser=intruder, client=photos[0], secret=photos[1])
    example.tokens(scope="openid offline_access")
    revoked = album.tokens(scope="openid")
    page = owner.get("/accounts/password/change/")
    assert re.findall(r"<li>([^<]*)</li>", page.text.split('class="ending-apps"')[1].split("</ul>")[0]) == [
        "Example RP",
        "Photo &lt;Album&gt;",
    ]
    revoke(album, revoked["refresh_token"])
    page = owner.get("/accounts/password/change/")
    assert "Example RP" in page.text and "Photo" not in page.text  # a revoked grant ends nothing more

    new = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    owner.submit(page, new)
    assert "No app is signed in" in owner.get("/accounts/password/change/").text


def revoke(flow, token):
    """RFC 7009 revocation by the client that holds the token."""
    response = requests.post(
        f"{flow.issuer}/revoke",
        data={"token": token},
        auth=(flow.client.client_id, flow.secret),
        timeout=10,
    )
    assert response.status_code == 200


def test_an_operator_setting_the_password_in_the_admin_ends_every_token_too(
    intruder, user, django_user_model, rp_client, photos
):
    from django.test import Client as HttpClient
    from django.urls import reverse

    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    admin = HttpClient()
    admin.force_login(operator)
    response = admin.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert_every_token_ended(intruder)
    assert_one_audit_event("admin", rp_client[0], photos[0])
