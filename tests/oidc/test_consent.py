"""Consent: shown in plain words, remembered per user + client + scopes, revocable from the account page."""

import pytest

from tests.oidc.flows import claims_param, is_consent_page, is_login_page
from tests.support.browser import forms

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_consent_page_names_the_client_and_the_scopes_in_plain_words(flow, user):
    page = flow.log_in(flow.authorize(scope="openid profile email offline_access"))
    assert is_consent_page(page)
    assert "Example RP" in page.text
    for words in (
        "Know who you are",
        "See your name and profile",
        "See your email address",
        "Stay signed in to this app when you are not using it",
    ):
        assert words in page.text


def test_approval_is_remembered_for_the_same_or_fewer_scopes(flow, user):
    flow.tokens(scope="openid profile email")
    assert "code" in flow.at_relying_party(flow.authorize(scope="openid profile email"))
    assert "code" in flow.at_relying_party(flow.authorize(scope="openid email"))
    page = flow.authorize(scope="openid email offline_access")  # more than was approved
    assert is_consent_page(page)
    assert "code" in flow.at_relying_party(flow.allow(page))
    assert "code" in flow.at_relying_party(flow.authorize(scope="openid profile offline_access"))


def test_approval_is_remembered_per_user(flow, user, bob, other_browser):
    flow.tokens(scope="openid profile")
    flow.browser = other_browser
    page = flow.log_in(flow.authorize(scope="openid profile"), "bob@example.com")
    assert is_consent_page(page)


def test_approval_is_remembered_per_client(flow, user, first_party_flow, narrow_flow):
    flow.tokens()
    narrow_flow.browser = flow.browser
    assert is_consent_page(narrow_flow.authorize())


def test_denying_remembers_nothing(flow, user):
    page = flow.log_in(flow.authorize())
    assert flow.at_relying_party(flow.browser.consent(page, allow=False))["error"] == "access_denied"
    assert is_consent_page(flow.authorize())


def test_first_party_clients_skip_the_page(first_party_flow, user):
    page = first_party_flow.log_in(first_party_flow.authorize(scope="openid profile email"))
    assert "code" in first_party_flow.at_relying_party(page)


def test_claims_asked_for_by_name_are_on_the_consent_page_and_remembered(flow, user):
    wanted = claims_param({"userinfo": {"email": {"essential": True}}})
    page = flow.log_in(flow.authorize(scope="openid", claims=wanted))
    assert "See your email address" in page.text
    flow.at_relying_party(flow.allow(page))
    # The email scope is now approved, so a later request for it needs no page.
    assert "code" in flow.at_relying_party(flow.authorize(scope="openid email"))


def consents_page(browser):
    return browser.get("/accounts/consents/")


def test_the_account_page_lists_remembered_consents(flow, user):
    flow.tokens(scope="openid email")
    page = consents_page(flow.browser)
    assert page.status_code == 200
    assert "Example RP" in page.text
    assert "See your email address" in page.text
    assert "no-store" in page.headers.get("Cache-Control", "") or "max-age=0" in page.headers.get(
        "Cache-Control", ""
    )


def test_the_account_page_needs_a_session(browser):
    assert is_login_page(consents_page(browser))


def test_revoking_a_consent_revokes_the_clients_refresh_tokens_and_asks_again(flow, user, first_party_flow):
    tokens = flow.tokens(scope="openid email offline_access")
    first_party_tokens = first_party_flow.tokens(scope="openid offline_access")

    page = consents_page(flow.browser)
    form = next(f for f in forms(page.text) if f["fields"].get("client_id") == flow.client.client_id)
    response = flow.browser.submit(page, form_index=forms(page.text).index(form))
    assert response.status_code == 200
    assert "Example RP" not in response.text

    from oauth2_provider.models import get_refresh_token_model

    live = get_refresh_token_model().objects.filter(application=flow.client, revoked__isnull=True)
    assert not live.exists()
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert flow.userinfo(tokens["access_token"]).status_code == 401
    assert is_consent_page(flow.authorize(scope="openid email"))
    # Another client's tokens are untouched.
    assert first_party_flow.refresh(first_party_tokens["refresh_token"]).status_code == 200


def test_revoking_needs_the_csrf_token(flow, user):
    flow.tokens()
    response = flow.browser.http.post(
        f"{flow.issuer}/accounts/consents/", data={"client_id": flow.client.client_id}, allow_redirects=False
    )
    assert response.status_code == 403
    assert "code" in flow.at_relying_party(flow.authorize())  # still remembered


def test_revoking_someone_elses_client_id_changes_nothing_of_theirs(flow, user, bob, other_browser):
    flow.tokens()
    from provider.oidc.models import Consent

    other = type(flow)(issuer=flow.issuer, browser=other_browser, client=flow.client, secret=flow.secret)
    other.tokens(email="bob@example.com")
    page = consents_page(other_browser)
    other_browser.submit(page)  # bob revokes his own consent for the same client
    assert Consent.objects.filter(user=user, client=flow.client).exists()
    assert not Consent.objects.filter(user=bob, client=flow.client).exists()


def test_dots_approval_prompt_auto_does_not_bypass_prompt_consent(flow, user):
    flow.tokens()  # a live access token for these scopes exists
    assert is_consent_page(flow.authorize(prompt="consent", approval_prompt="auto"))


def test_a_session_that_ended_while_the_page_was_open_signs_in_again(flow, user):
    from tests.oidc.flows import session_store

    page = flow.log_in(flow.authorize(scope="openid email"))
    assert is_consent_page(page)
    session_store(flow.browser).delete()  # signed out elsewhere, or the session expired
    response = flow.allow(page)
    assert is_login_page(response)
    again = flow.log_in(response)
    assert is_consent_page(again) and "See your email address" in again.text
    assert "code" in flow.at_relying_party(flow.allow(again))


@pytest.mark.parametrize(
    "edited",
    [
        {"redirect_uri": "https://attacker.example/collect"},
        {"redirect_uri": "https://rp.example.com/callback/"},  # one character off the registered URI
        {"client_id": "no-such-client"},
    ],
)
def test_deny_with_an_edited_form_shows_the_error_page_instead_of_redirecting(flow, user, edited):
    """Issue 14, finding 9: Deny redirects only to a URI registered for the client."""
    page = flow.log_in(flow.authorize())
    answer = flow.browser.submit(page, edited, button="cancel")
    assert answer.status_code == 400, (answer.status_code, answer.headers.get("Location"))
    assert "Location" not in answer.headers
    assert "This sign-in request cannot continue" in answer.text
    # Allow refuses the same form too, and nothing was remembered.
    assert flow.browser.submit(page, edited, button="allow").status_code == 400
    assert is_consent_page(flow.authorize())


def test_an_approval_covers_what_its_page_showed_not_what_the_client_was_allowed_meanwhile(narrow_flow, user):
    """Issue 14, finding 3: the operator allows `email` while the page (without it) is open; Allow
    approves what the page showed, so the email asked for by name is still not released."""
    wanted = claims_param({"userinfo": {"email": None}, "id_token": {"email": None}})
    page = narrow_flow.log_in(narrow_flow.authorize(claims=wanted))
    assert is_consent_page(page) and "See your email address" not in page.text
    narrow_flow.client.allowed_scopes = "openid email"
    narrow_flow.client.save(update_fields=["allowed_scopes", "updated"])

    tokens = narrow_flow.exchange(narrow_flow.at_relying_party(narrow_flow.allow(page))["code"]).json()

    assert narrow_flow.userinfo(tokens["access_token"]).json() == {"sub": str(user.pk)}
    assert "email" not in narrow_flow.id_token_claims(tokens["id_token"])
    assert "See your email address" in narrow_flow.authorize(claims=wanted).text  # asked, not assumed
