"""The language of pages and emails: ui_locales (OIDC Core 3.1.2.1) through sign-in and consent, else
Accept-Language; machine endpoints answer in no language. Over real HTTP against the live server."""

import html
import json
import re

import pytest
import requests
from django.test import Client, RequestFactory
from django.urls import resolve
from django.utils import translation

from accounts import lockout
from provider.locale import supported_language
from tests.conftest import PASSWORD
from tests.oidc.flows import Flow, is_consent_page, is_login_page
from tests.support.browser import Browser
from tests.support.clock import FrozenClock

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


# --- sign-in lockouts (accounts/lockout.py) ----------------------------------------------------
LIMIT = 5  # SIGNET_LOGIN_FAILURE_LIMIT's default
# RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E, printable ASCII but '"' and '\\'.
RFC6749_DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
PAIR_LOCK = {
    "de": (
        "Zu viele fehlgeschlagene Anmeldeversuche für dieses Konto aus Ihrem Netzwerk: Die Anmeldung bei "
        "diesem Konto ist von hier aus gesperrt. Sie können sich weiterhin von einem anderen Ort aus "
        "anmelden oder Ihr Passwort zurücksetzen. Versuchen Sie es in {n} {unit} erneut."
    ),
    "fr": (
        "Trop de tentatives de connexion échouées pour ce compte depuis votre réseau : la connexion à ce "
        "compte depuis cet endroit est bloquée. Vous pouvez toujours vous connecter depuis un autre "
        "endroit, ou réinitialiser votre mot de passe. Réessayez dans {n} {unit}."
    ),
    "es": (
        "Demasiados intentos fallidos de inicio de sesión en esta cuenta desde tu red: el inicio de "
        "sesión en ella desde aquí está bloqueado. Aún puedes iniciar sesión desde otro lugar o "
        "restablecer tu contraseña. Vuelve a intentarlo dentro de {n} {unit}."
    ),
    # Unchanged from before the messages were translated: tests/accounts/test_lockout.py reads it too.
    "en": (
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Try again in {n} {unit}."
    ),
}
MINUTES = {"de": ("Minute", "Minuten"), "fr": ("minute", "minutes"), "es": ("minuto", "minutos")}
MINUTES["en"] = MINUTES["fr"]


@pytest.fixture
def clock(monkeypatch):
    """The time every failure is recorded at and every lock measured with; moves only when told."""
    frozen = FrozenClock()
    monkeypatch.setattr(lockout, "clock", frozen)
    return frozen


def lockout_text(response):
    found = re.search(r'<div class="alert" role="alert" id="lockout">([^<]*)</div>', response.text)
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("ui_locales", "language"), [("de", "de"), ("fr-CA", "fr"), ("es", "es"), ("ja", "en")]
)
def test_a_lockout_on_the_sign_in_page_is_in_the_page_language(flow, user, clock, ui_locales, language):
    page = flow.authorize(ui_locales=ui_locales)
    for _ in range(LIMIT):
        page = flow.browser.login(page, user.email, "not the password")
    assert page.status_code == 429 and html_lang(page) == language
    one, many = MINUTES[language]
    assert lockout_text(page) == PAIR_LOCK[language].format(n=15, unit=many)
    # The plural follows the count: one minute left is said in the singular.
    clock.advance(14 * 60)
    refused = flow.browser.login(page, user.email, PASSWORD)
    assert refused.status_code == 429 and html_lang(refused) == language
    assert lockout_text(refused) == PAIR_LOCK[language].format(n=1, unit=one)


def test_the_account_throttle_counts_its_seconds_in_the_page_language(issuer, user, settings, clock):
    settings.SIGNET_PROXY_COUNT = 1  # each attempt from an address of its own, as a botnet's are
    settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = 1
    addresses = (f"192.0.2.{n}" for n in range(1, 100))

    def attempt(password):
        browser = Browser(issuer)
        browser.http.headers.update({"Accept-Language": "fr-FR,fr;q=0.9", "X-Forwarded-For": next(addresses)})
        return browser.login(browser.get("/accounts/login/"), user.email, password)

    assert attempt("wrong").status_code == 200
    throttled = attempt(PASSWORD)
    assert throttled.status_code == 429 and html_lang(throttled) == "fr"
    assert lockout_text(throttled) == (
        "Trop de tentatives de connexion échouées pour ce compte : les connexions sont ralenties. "
        "Attendez 1 seconde, puis réessayez."
    )
    clock.advance(1)
    assert attempt("wrong").status_code == 200
    assert lockout_text(attempt(PASSWORD)).endswith("Attendez 2 secondes, puis réessayez.")


@pytest.fixture
def password_client(db):
    from provider.oidc.services import client_create

    return client_create(
        name="Legacy app", client_type="confidential", grant="password", audiences=["https://api.example.com"]
    )


def test_the_password_grants_lockout_error_stays_english_ascii(issuer, user, password_client):
    """The page languages a browser would ask for reach /token too, and must not reach its JSON error."""
    client, secret = password_client

    def grant(password):
        return requests.post(
            f"{issuer}/token",
            data={"grant_type": "password", "username": user.email, "password": password, "ui_locales": "de"},
            auth=(client.client_id, secret),
            headers=GERMAN,
            timeout=30,
        )

    for _ in range(LIMIT):
        assert grant("not the password").status_code == 400
    locked = grant(PASSWORD)
    assert locked.status_code == 429 and "Content-Language" not in locked.headers
    description = locked.json()["error_description"]
    assert description == PAIR_LOCK["en"].format(n=15, unit="minutes")
    assert RFC6749_DESCRIPTION.fullmatch(description)


@pytest.mark.parametrize("language", ["de", "fr", "es"])
@pytest.mark.parametrize(
    "lock",
    [
        lockout.Lock(lockout.PAIR, 1),
        lockout.Lock(lockout.PAIR, 900),
        lockout.Lock(lockout.PAIR, None),
        lockout.Lock(lockout.ADDRESS, 30),
        lockout.Lock(lockout.ADDRESS, 120),
        lockout.Lock(lockout.ADDRESS, None),
        lockout.Lock(lockout.ACCOUNT, 2),
        lockout.Lock(lockout.ACCOUNT, 61),
    ],
)
def test_a_translated_message_never_reaches_a_json_error_description(db, lock, language):
    """Whatever language a caller or an earlier request left active, the protocol error is English ASCII."""
    request = RequestFactory().post("/token")
    request.resolver_match = resolve("/token")
    request.signet_lock = lock
    with translation.override(language):
        translated = lockout.lockout_message(lock)
        response = lockout.lockout_response(request)
    description = json.loads(response.content)["error_description"]
    assert response.status_code == 429 and description != translated
    assert RFC6749_DESCRIPTION.fullmatch(description)
    with translation.override("en"):
        assert description == lockout.lockout_message(lock)


def test_a_lockout_on_the_second_step_page_is_in_the_page_language(browser, user, monkeypatch, settings):
    """Wrong one-time codes count toward the same lock (accounts/second_factor.py), told on that page."""
    from tests.accounts.mfa import NOW, code_at, log_in, pin_clock, submit_form, totp_enrolled

    secret, _codes = totp_enrolled(browser, monkeypatch)
    browser.http.headers.update(GERMAN)
    pin_clock(monkeypatch, NOW + 300)
    wrong = "000000" if code_at(secret, NOW + 300) != "000000" else "111111"
    page = log_in(browser)
    for _ in range(settings.SIGNET_LOGIN_FAILURE_LIMIT):
        page = submit_form(browser, page, "totp-form", {"code": wrong})
    assert page.status_code == 429 and html_lang(page) == "de"
    assert lockout_text(page) == PAIR_LOCK["de"].format(n=15, unit="Minuten")
