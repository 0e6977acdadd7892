"""The language of pages and emails: ui_locales (OIDC Core 3.1.2.1) through sign-in and consent, else
Accept-Language; machine endpoints answer in no language. Over real HTTP against the live server."""

import re

import pytest
import requests
from django.test import Client
from django.utils import translation

from provider.locale import supported_language
from tests.conftest import PASSWORD
from tests.oidc.flows import Flow, is_consent_page, is_login_page

pytestmark = pytest.mark.django_db(transaction=True)

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


@pytest.fixture
def flow(issuer, browser, rp_client):
    client, secret = rp_client
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


def heading(response):
    return re.search(r"<h1>(.*?)</h1>", response.text).group(1)


def html_lang(response):
    return re.search(r'<html lang="([^"]+)"', response.text).group(1)


# --- choosing the language ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ui_locales", "language"),
    [
        ("de", "de"),
        ("fr-CA fr en", "fr"),  # a regional tag falls back to its language
        ("ja es", "es"),  # the first shipped one in the preference list
        ("ES", "es"),  # tags are case-insensitive (RFC 5646 2.1.1)
        ("ja", None),
        ("", None),
        ("x" * 36 + " de", "de"),  # over-long tags are skipped, not looked up
        ("../../etc de", "de"),
        ("de\x00", None),
    ],
)
def test_ui_locales_names_the_first_shipped_language(ui_locales, language):
    assert supported_language(ui_locales) == language


def test_ui_locales_on_the_authorization_request_holds_through_sign_in_and_consent(flow, user):
    login = flow.authorize(ui_locales="de", scope="openid profile")
    assert is_login_page(login)
    assert heading(login) == "Anmelden" and html_lang(login) == "de"
    assert ">Passwort vergessen?<" in login.text and 'for="id_password">Passwort<' in login.text

    # A wrong password: the form posts `next` in its body, and the error page stays German.
    wrong = flow.browser.login(login, user.email, "not the password")
    assert "E-Mail-Adresse oder Passwort ist falsch." in wrong.text and html_lang(wrong) == "de"

    consent = flow.browser.login(wrong, user.email, PASSWORD)
    assert is_consent_page(consent)
    assert html_lang(consent) == "de" and heading(consent) == "Example RP erlauben?"
    assert "Ihren Namen und Ihr Profil sehen" in consent.text  # the scope's description
    assert ">Erlauben</button>" in consent.text and ">Ablehnen</button>" in consent.text
    assert "code" in flow.at_relying_party(flow.allow(consent))


def test_ui_locales_wins_over_accept_language(flow):
    flow.browser.http.headers.update(GERMAN)
    assert heading(flow.authorize(ui_locales="es")) == "Iniciar sesión"
    # An unshipped ui_locales leaves the choice to the browser's languages.
    assert heading(flow.authorize(ui_locales="ja")) == "Anmelden"


@pytest.mark.parametrize(
    ("accept_language", "title"),
    [
        ("de-DE,de;q=0.9", "Anmelden"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "Se connecter"),
        ("es-MX,es;q=0.9", "Iniciar sesión"),
        ("ja-JP,ja;q=0.9", "Sign in"),  # nothing shipped: English
        ("", "Sign in"),
    ],
)
def test_accept_language_chooses_the_language_of_a_page(issuer, accept_language, title):
    response = requests.get(
        f"{issuer}/accounts/login/", headers={"Accept-Language": accept_language}, timeout=10
    )
    assert response.status_code == 200 and heading(response) == title
    assert response.headers["Content-Language"] == html_lang(response)
    assert "Accept-Language" in response.headers["Vary"]  # caches keep one copy per language


def test_the_password_reset_email_is_in_the_page_language(issuer, user, mailoutbox):
    page = requests.Session()
    page.headers.update({"Accept-Language": "fr"})
    form = page.get(f"{issuer}/accounts/password/reset/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    sent = page.post(
        f"{issuer}/accounts/password/reset/",
        data={"csrfmiddlewaretoken": token, "email": user.email},
        headers={"Referer": form.url},
        timeout=10,
    )
    assert sent.status_code == 200 and heading(sent) == "Consultez vos e-mails"
    [mail] = mailoutbox
    assert mail.subject == "Réinitialisez votre mot de passe Signet"
    assert f"réinitialiser le mot de passe du compte Signet {user.email}." in mail.body


def test_machine_endpoints_answer_in_no_language(issuer):
    """The lean lane skips the language step: no Content-Language, no Vary on the browser's languages."""
    for path in ("/.well-known/openid-configuration", "/jwks"):
        response = requests.get(f"{issuer}{path}", headers=GERMAN, timeout=10)
        assert response.status_code == 200
        assert "Content-Language" not in response.headers
        assert "Accept-Language" not in response.headers.get("Vary", "")
    token = requests.post(f"{issuer}/token", data={"grant_type": "nonsense"}, headers=GERMAN, timeout=10)
    assert token.status_code in (400, 401) and "Content-Language" not in token.headers


def test_a_page_leaves_no_language_behind_in_its_thread(db):
    """A worker thread's next request may be a machine endpoint, which activates no language of its own."""
    translation.activate("en")
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert response["Content-Language"] == "de"
    assert translation.get_language() == "en"


def test_ui_locales_on_rp_initiated_logout_holds_through_its_confirmation(flow, user):
    """RP-Initiated Logout 1.0 2: the logout request may carry ui_locales too."""
    assert "code" in flow.sign_in()
    confirm = flow.browser.get("/logout", params={"ui_locales": "fr"})
    assert html_lang(confirm) == "fr" and heading(confirm) == "Se déconnecter ?"
    assert ">Rester connecté</button>" in confirm.text
    done = flow.browser.submit(confirm, button="allow")  # the form posts back to its own URL
    assert html_lang(done) == "fr" and heading(done) == "Vous êtes déconnecté"
