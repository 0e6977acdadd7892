"""Passkeys in Chromium with a virtual authenticator (CTAP2, built in, user verifying), over the live server.

Registering one on the Security page; signing in with it alone from a relying party's authorization
request, in another browser that holds only a copy of the credential; a passkey as the second step
after a password; a removed passkey refused; an assertion made on another origin refused; a copied
authenticator whose counter went back refused and audited; re-authenticating with a passkey before a
factor change. Screenshots in test-output/screenshots/.
"""

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Passkey
from accounts.sessions import AUTH_TIME_KEY
from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}
LANDING = "<!doctype html><title>Example RP</title><h1>Example RP: signed in</h1>"


@pytest.fixture(autouse=True)
def _issuer_is_localhost(issuer):
    # An IP address is not a valid RP ID: WebAuthn needs the issuer at a host name.
    assert urlsplit(issuer).hostname == "localhost", issuer


class Authenticator:
    """A virtual authenticator attached to one page (Chrome DevTools Protocol, WebAuthn domain)."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})[
            "authenticatorId"
        ]

    def credentials(self):
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def add(self, credential):
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential})


@pytest.fixture
def new_page(chromium, issuer):
    """new_page(): another browser context (no cookies, no credentials) with the page fixture's setup."""
    contexts = []

    def make():
        context = chromium.new_context(viewport={"width": 1000, "height": 800}, base_url=issuer)
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda m: page.csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.route("https://rp.example.com/**", lambda route: route.fulfill(status=200, body=LANDING))
        return page

    yield make
    for context in contexts:
        context.close()


def password_sign_in(page, email, password=PASSWORD):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def register_passkey(page, shoot, user, name="Alice's laptop"):
    """Sign in with the password, then add a passkey on the Security page; returns the authenticator."""
    authenticator = Authenticator(page)
    page.goto("/accounts/security/")
    password_sign_in(page, user.email)
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    shoot(page, "passkeys-01-security-none")
    page.get_by_label("Name for the new passkey").fill(name)
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".passkey-name")).to_have_text(name)
    shoot(page, "passkeys-02-security-registered")
    return authenticator


def authorization_request(client, **extra):
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/authorize?{urlencode(params)}", verifier


def id_token_claims(issuer, client, secret, page, verifier):
    """The relying party's side: the code on its redirect URI exchanged, the ID token verified."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    token = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    jwks = requests.get(f"{issuer}/jwks", timeout=10).json()
    id_token = token.json()["id_token"]
    key = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(id_token)["kid"])
    return jwt.decode(
        id_token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=client.client_id, issuer=issuer
    )


def through_consent(page):
    page.wait_for_selector("#authorizationForm")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{REDIRECT_URI}?**")


def button_sign_in(page, credential, url="/accounts/login/", screenshot=None):
    """Open the login page, then give this page an authenticator holding `credential` and press
    "Sign in with a passkey". Added after the page loaded, so that the autofill request the page
    started (conditional mediation, which Chromium's virtual authenticator answers at once) finds none."""
    page.goto(url)
    button = page.get_by_role("button", name="Sign in with a passkey")
    expect(button).to_be_visible()
    # The autofill request goes out once its options arrive, after the button shows. Given the
    # credential before that, the virtual authenticator would answer it too: two sign-ins, not one.
    expect(page.locator("[data-passkey][data-autofill='waiting']")).to_have_count(1)
    if screenshot:
        screenshot(page)
    Authenticator(page).add(credential)
    button.click()


def test_register_then_sign_in_with_the_passkey_alone_from_a_relying_party(
    page, new_page, shoot, user, rp_client, issuer
):
    client, secret = rp_client
    original = register_passkey(page, shoot, user)
    [credential] = original.credentials()
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "Alice's laptop" and not passkey.backup_eligible

    # Another browser, holding only the credential: no cookie, no email typed.
    other = new_page()
    url, verifier = authorization_request(client, acr_values="phr")
    button_sign_in(other, credential, url, lambda p: shoot(p, "passkeys-03-login-with-passkey-button"))
    assert other.get_by_label("Email").get_attribute("autocomplete") == "username webauthn"
    through_consent(other)
    shoot(other, "passkeys-04-relying-party")
    claims = id_token_claims(issuer, client, secret, other, verifier)
    assert claims["sub"] == str(user.pk)
    assert "hwk" in claims["amr"] and "user" in claims["amr"] and "pwd" not in claims["amr"]
    assert claims["acr"] == "phr"
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None and passkey.sign_count >= 1
    assert page.csp_errors == [] and other.csp_errors == []


def test_the_email_fields_autofill_offers_the_passkey(page, new_page, shoot, user, rp_client):
    """Conditional mediation: with the passkey on the device, the login page signs in through the
    email field's autofill (Chromium's virtual authenticator picks the only passkey itself)."""
    client, _secret = rp_client
    [credential] = register_passkey(page, shoot, user).credentials()
    other = new_page()
    Authenticator(other).add(credential)
    url, _verifier = authorization_request(client)
    other.goto(url)
    expect(other.get_by_role("heading", name="Allow Example RP?")).to_be_visible()
    assert Passkey.objects.get(user=user).last_used_at is not None


def test_a_passkey_as_the_second_step_after_a_password(page, new_page, shoot, user, rp_client, issuer):
    client, secret = rp_client
    [credential] = register_passkey(page, shoot, user).credentials()
    other = new_page()
    url, verifier = authorization_request(client)
    other.goto(url)
    password_sign_in(other, user.email)
    # The password was right; a second step is owed, and the passkey gives it.
    expect(other.get_by_role("heading", name="One more step")).to_be_visible()
    shoot(other, "passkeys-05-second-step")
    Authenticator(other).add(credential)
    with other.expect_navigation():
        other.get_by_role("button", name="Use a passkey").click()
    through_consent(other)
    claims = id_token_claims(issuer, client, secret, other, verifier)
    assert {"pwd", "hwk", "user", "mfa"} <= set(claims["amr"])
    assert other.csp_errors == []


def test_a_removed_passkey_no_longer_signs_in(page, new_page, shoot, user):
    original = register_passkey(page, shoot, user)
    [credential] = original.credentials()
    page.get_by_role("button", name="Remove the passkey Alice's laptop").click()
    expect(page.get_by_text("The passkey was removed")).to_be_visible()
    expect(page.locator(".passkeys-none")).to_be_visible()
    assert not Passkey.objects.filter(user=user).exists()

    other = new_page()
    button_sign_in(other, credential)  # the authenticator still holds it; Signet no longer does
    expect(other.get_by_role("alert")).to_have_text("This passkey is not registered here.")
    shoot(other, "passkeys-06-removed-passkey-refused")
    other.goto("/accounts/profile/")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()  # still signed out


def test_a_copied_authenticator_whose_counter_went_back_is_refused_and_audited(page, new_page, shoot, user):
    original = register_passkey(page, shoot, user)
    [copy] = original.credentials()  # copied now, counter and all
    # The original goes on being used: its counter moves past the copy's.
    for _ in range(2):
        page.context.clear_cookies()
        page.goto("/accounts/login/")  # the email field's autofill signs in with it
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    stored = Passkey.objects.get(user=user).sign_count
    assert stored > copy["signCount"]

    clone = new_page()
    button_sign_in(clone, copy)
    expect(clone.get_by_role("alert")).to_contain_text("counter went backwards")
    shoot(clone, "passkeys-07-clone-refused")
    [event] = AuditEvent.objects.filter(event="passkey.clone_suspected")
    assert event.actor == str(user.pk) and event.data["stored_count"] == stored
    assert copy["credentialId"] not in str(event.data) and copy["privateKey"] not in str(event.data)
    assert Passkey.objects.get(user=user).sign_count == stored


class _OtherSite(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Another site</title><h1>Another site</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    """A second live server on another port of the same host: a different origin, the same RP ID."""
    server = ThreadingHTTPServer(("localhost", 0), _OtherSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FETCH_OPTIONS = """async (url) => {
  const csrf = document.querySelector("[data-passkey]").dataset.csrf;
  const headers = {"Content-Type": "application/json", "X-CSRFToken": csrf};
  const r = await fetch(url, {method: "POST", headers, body: "{}"});
  return await r.json();
}"""
GET_ASSERTION = """async (options) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  const credential = await navigator.credentials.get({publicKey});
  return credential.toJSON();
}"""
POST_CREDENTIAL = """async ([url, credential]) => {
  const csrf = document.querySelector("[data-passkey]").dataset.csrf;
  const headers = {"Content-Type": "application/json", "X-CSRFToken": csrf};
  const r = await fetch(url, {method: "POST", headers, body: JSON.stringify({credential})});
  return {status: r.status, body: await r.json()};
}"""


def test_an_assertion_made_on_another_origin_is_refused(page, new_page, shoot, user, other_origin, issuer):
    [credential] = register_passkey(page, shoot, user).credentials()
    signet = new_page()
    signet.goto("/accounts/login/")
    options = signet.evaluate(FETCH_OPTIONS, "/accounts/passkeys/sign-in/options/")
    # The passkey, asked on a page of another origin whose host is the RP ID (a port apart): the
    # browser signs, with that origin in clientDataJSON. Signet must not take it.
    elsewhere = signet.context.new_page()
    Authenticator(elsewhere).add(credential)
    elsewhere.goto(other_origin)
    signed = elsewhere.evaluate(GET_ASSERTION, options)
    answer = signet.evaluate(POST_CREDENTIAL, ["/accounts/passkeys/sign-in/", signed])
    assert answer["status"] == 400 and answer["body"]["error"] == "wrong_origin", answer
    assert issuer in answer["body"]["message"]
    signet.goto("/accounts/profile/")
    expect(signet.get_by_role("heading", name="Sign in")).to_be_visible()


def age_sign_in(page, seconds):
    """Pretend this browser signed in `seconds` earlier than it did (no sleeping)."""
    engine = import_module(settings.SESSION_ENGINE)
    key = next(c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    store = engine.SessionStore(session_key=key)
    store[AUTH_TIME_KEY] -= seconds
    store.save()


def test_re_authenticating_with_a_passkey_before_removing_one(page, shoot, user):
    """A change of factors long after signing in asks to confirm it is you: the passkey does it."""
    register_passkey(page, shoot, user)
    age_sign_in(page, 3600)
    page.get_by_role("button", name="Remove the passkey Alice's laptop").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert Passkey.objects.filter(user=user).exists()
    shoot(page, "passkeys-08-reauth-with-passkey")
    with page.expect_navigation():
        page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name="Security")).to_be_visible()
    page.get_by_role("button", name="Remove the passkey Alice's laptop").click()
    expect(page.get_by_text("The passkey was removed")).to_be_visible()
    assert not Passkey.objects.filter(user=user).exists()
    assert page.csp_errors == []
