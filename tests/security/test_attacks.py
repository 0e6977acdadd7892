"""Attacks on an OpenID Provider, one test each, over real HTTP against a live server.

Each maps to a threat of RFC 6819 / RFC 9700 (see SECURITY.md for the table).
"""

import re
import secrets

import pytest
import requests

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import Browser, forms, pkce_pair, query
from tests.support.values import altered

from .conftest import OTHER_REDIRECT_URI, authorize_params, exchange, get_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reliability]

IDN_HOST = "rp.\u0435xample.com"  # Cyrillic "е": looks like rp.example.com
REDIRECT_VARIANTS = {
    "scheme-case": "HTTPS://rp.example.com/callback",
    "host-case": "https://RP.example.com/callback",
    "path-case": "https://rp.example.com/Callback",
    "userinfo-before-host": "https://rp.example.com@evil.example/callback",
    "userinfo-on-host": "https://evil.example@rp.example.com/callback",
    "percent-encoded-path": "https://rp.example.com/%63allback",
    "percent-encoded-traversal": "https://rp.example.com/callback%2F..%2F..%2Fevil",
    "percent-encoded-host-dot": "https://rp.example.com%2Eevil.example/callback",
    "fragment": "https://rp.example.com/callback#x",
    "empty-fragment": "https://rp.example.com/callback#",
    "default-port": "https://rp.example.com:443/callback",
    "other-port": "https://rp.example.com:8443/callback",
    "trailing-slash": "https://rp.example.com/callback/",
    "extra-path": "https://rp.example.com/callback/evil",
    "dot-segment": "https://rp.example.com/callback/../evil",
    "extra-query": "https://rp.example.com/callback?next=https://evil.example",
    "subdomain": "https://evil.rp.example.com/callback",
    "suffix-host": "https://rp.example.com.evil.example/callback",
    "http-downgrade": "http://rp.example.com/callback",
    "idn-homograph": f"https://{IDN_HOST}/callback",
    "idn-punycode": "https://" + IDN_HOST.encode("idna").decode() + "/callback",
    "backslash": "https://rp.example.com\\@evil.example/callback",
    "protocol-relative": "//evil.example/callback",
    "javascript": "javascript:alert(document.domain)//https://rp.example.com/callback",
    "whitespace": " https://rp.example.com/callback",
}


def _location(response):
    return response.headers.get("Location", "")


def test_open_redirect_through_redirect_uri_variants(flow):
    """RFC 9700 4.1.3 / RFC 6819 4.2.4: exact redirect URI matching; an error page, never a redirect."""
    for variant, uri in sorted(REDIRECT_VARIANTS.items()):
        _verifier, challenge = pkce_pair()
        params = authorize_params(flow.client_id, challenge, redirect_uri=uri)
        for http in (flow.browser.http, requests.Session()):  # signed in, and not
            for method in ("GET", "POST"):
                kwargs = {"params": params} if method == "GET" else {"data": params}
                response = http.request(
                    method, f"{flow.issuer}/authorize", allow_redirects=False, timeout=30, **kwargs
                )
                location = _location(response)
                where = (variant, method, response.status_code, location[:100])
                if response.status_code in (301, 302, 303, 307, 308):
                    # Only the provider's own pages (login, the same request as GET) may follow.
                    assert location.startswith("/") and not location.startswith("//"), where
                    assert not location.startswith(uri), where
                    continue
                assert response.status_code == 400, where
                assert "code=" not in response.text, where


def test_authorization_code_injected_into_another_client_is_refused(flow, user, other_client):
    """RFC 6819 4.4.1.7 / RFC 9700 4.5 (code injection): a code works only for the client it was issued to."""
    other, other_secret = other_client
    code, verifier = get_code(flow.browser, flow.client_id, email=user.email)
    for redirect_uri in (OTHER_REDIRECT_URI, REDIRECT_URI):
        stolen = exchange(
            flow.issuer, code, verifier, other.client_id, other_secret, redirect_uri=redirect_uri
        )
        assert stolen.status_code == 400, stolen.text
        assert stolen.json()["error"] == "invalid_grant"
        assert "access_token" not in stolen.json()
    # The reverse: a code issued to the other client, replayed by this one.
    other_code, other_verifier = get_code(
        flow.browser, other.client_id, email=user.email, redirect_uri=OTHER_REDIRECT_URI
    )
    stolen = exchange(
        flow.issuer, other_code, other_verifier, flow.client_id, flow.secret, redirect_uri=OTHER_REDIRECT_URI
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "downgrade", ["verifier-dropped", "wrong-verifier", "verifier-without-challenge", "plain"]
)
def test_pkce_downgrade_is_refused(flow, user, downgrade):
    """RFC 9700 2.1.1 and 4.8.2 (PKCE downgrade), RFC 7636 4.6."""
    if downgrade == "plain":
        verifier = secrets.token_urlsafe(48)
        page = flow.browser.get(
            "/authorize",
            params={
                **authorize_params(flow.client_id, verifier),
                "code_challenge_method": "plain",
            },
        )
        assert "code=" not in _location(page)
        if page.status_code == 302:
            assert query(_location(page))["error"] == "invalid_request"
        return
    if downgrade == "verifier-without-challenge":
        code, _ = get_code(
            flow.browser, flow.client_id, email=user.email, code_challenge=None, code_challenge_method=None
        )
        verifier = secrets.token_urlsafe(48)
    else:
        code, verifier = get_code(flow.browser, flow.client_id, email=user.email)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if downgrade == "wrong-verifier":
        data["code_verifier"] = secrets.token_urlsafe(48)
    elif downgrade == "verifier-without-challenge":
        data["code_verifier"] = verifier
    response = requests.post(
        f"{flow.issuer}/token", data=data, auth=(flow.client_id, flow.secret), timeout=30
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_grant", "invalid_request")
    assert "access_token" not in response.json()


def _signed_in(browser):
    return (
        browser.http.get(browser.base + "/accounts/profile/", allow_redirects=False, timeout=10).status_code
        == 200
    )


def test_csrf_on_login(issuer, user):
    """RFC 6819 4.4.1.8 (login CSRF): the login form needs its CSRF token."""
    browser = Browser(issuer)
    page = browser.get("/accounts/login/")
    fields = dict(forms(page.text)[0]["fields"])
    fields.pop("csrfmiddlewaretoken")
    fields.update({"username": user.email, "password": PASSWORD})
    response = browser.http.post(
        issuer + "/accounts/login/",
        data=fields,
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 403
    assert not _signed_in(browser)
    # A token lifted from another browser does not help either.
    attacker = Browser(issuer)
    attacker_token = forms(attacker.get("/accounts/login/").text)[0]["fields"]["csrfmiddlewaretoken"]
    response = browser.http.post(
        issuer + "/accounts/login/",
        data={**fields, "csrfmiddlewaretoken": attacker_token},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 403
    assert not _signed_in(browser)
    # Control: with its own token, the same form signs in.
    assert browser.login(browser.get("/accounts/login/"), user.email, PASSWORD).status_code in (200, 302)
    assert _signed_in(browser)


def test_csrf_on_consent(issuer, browser, user, rp_client):
    """RFC 6819 4.4.1.8 / OAuth 2.0 10.12: the consent form needs its CSRF token, or no code."""
    client, _ = rp_client
    _verifier, challenge = pkce_pair()
    page = browser.get("/authorize", params=authorize_params(client.client_id, challenge))
    page = browser.login(page, user.email, PASSWORD)
    assert 'id="authorizationForm"' in page.text
    form = forms(page.text)[0]
    data = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
    data["allow"] = form["buttons"].get("allow", "Authorize")
    response = browser.http.post(
        page.url, data=data, headers={"Referer": page.url}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 403
    assert "code=" not in _location(response)
    # Control: the same form with its token gives a code, by a 302/303 (RFC 9700 4.12: never a 307,
    # which would make the browser re-post the form, credentials included, to the client).
    allowed = browser.consent(page)
    assert allowed.status_code in (302, 303)
    assert "code=" in _location(allowed)


def test_csrf_on_logout(flow):
    """Logout CSRF (OIDC RP-Initiated Logout 2): without a verified hint the user is asked, and the
    confirmation needs its CSRF token; Signet's own sign-out accepts only a POST with the token."""
    page = flow.browser.get("/logout")
    assert page.status_code == 200 and _signed_in(flow.browser), "no hint: ask, do not sign out"
    form = forms(page.text)[0]
    data = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
    data["allow"] = "Logout"
    response = flow.browser.http.post(
        page.url, data=data, headers={"Referer": page.url}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 403
    assert _signed_in(flow.browser)
    # The account sign-out: a cross-site GET or a POST without the token signs nobody out.
    get = flow.browser.http.get(flow.issuer + "/accounts/logout/", allow_redirects=False, timeout=30)
    assert get.status_code in (405, 200) and _signed_in(flow.browser)
    post = flow.browser.http.post(
        flow.issuer + "/accounts/logout/", data={}, allow_redirects=False, timeout=30
    )
    assert post.status_code == 403 and _signed_in(flow.browser)
    # Control: the confirmation with its token signs out.
    flow.browser.submit(page, button="allow") if "allow" in form["buttons"] else flow.browser.submit(page)
    assert not _signed_in(flow.browser)


def test_session_fixation_login_gives_a_new_session_id(issuer, user):
    """RFC 6819 4.4.1.8 / OWASP session fixation: a session id planted before login is not the one
    that ends up signed in. Cookies are sent by hand so the planted one is exactly what the server sees."""
    from django.contrib.sessions.backends.db import SessionStore

    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    page = requests.get(
        issuer + "/accounts/login/", headers={"Cookie": f"sessionid={planted.session_key}"}, timeout=30
    )
    csrf_cookie = page.cookies["csrftoken"]
    token = forms(page.text)[0]["fields"]["csrfmiddlewaretoken"]
    login = requests.post(
        issuer + "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": user.email, "password": PASSWORD},
        headers={"Cookie": f"sessionid={planted.session_key}; csrftoken={csrf_cookie}", "Referer": page.url},
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text[:300]
    new_session = login.cookies.get("sessionid")
    assert new_session and new_session != planted.session_key

    def signed_in_with(session_key):
        profile = requests.get(
            issuer + "/accounts/profile/",
            headers={"Cookie": f"sessionid={session_key}"},
            allow_redirects=False,
            timeout=30,
        )
        return profile.status_code == 200

    assert signed_in_with(new_session)
    assert not signed_in_with(planted.session_key), "the planted session id must not be signed in"


def _pages(flow, user):
    """The provider's HTML pages a user sees: login, consent, logout confirmation, account."""
    anonymous = Browser(flow.issuer)
    _verifier, challenge = pkce_pair()
    login = anonymous.get("/authorize", params=authorize_params(flow.client_id, challenge))
    consent_browser = Browser(flow.issuer)
    consent = consent_browser.login(
        consent_browser.get(
            "/authorize", params={**authorize_params(flow.client_id, challenge), "prompt": "consent"}
        ),
        user.email,
        PASSWORD,
    )
    return {
        "login": login,
        "consent": consent,
        "logout-confirmation": flow.browser.get("/logout"),
        "account": flow.browser.get("/accounts/profile/"),
        "authorize-error": flow.browser.get("/authorize", params={"client_id": "nope"}),
    }


def test_clickjacking_headers_on_every_page(flow, user):
    """RFC 6819 4.4.1.9 (clickjacking): no page of the provider can be framed."""
    for name, page in _pages(flow, user).items():
        assert page.status_code in (200, 400), name
        assert page.headers.get("X-Frame-Options") == "DENY", name
        csp = page.headers.get("Content-Security-Policy", "")
        assert re.search(r"frame-ancestors\s+'none'", csp), (name, csp)


SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "origin"}


def test_referrer_policy_keeps_codes_and_state_out_of_referer(flow, user):
    """RFC 9700 4.2 (leakage through Referer): pages and the code redirect carry a policy that never
    sends their URL (with its query) to another origin."""
    responses = dict(_pages(flow, user))
    _verifier, challenge = pkce_pair()
    redirect = flow.browser.http.get(
        f"{flow.issuer}/authorize",
        params=authorize_params(flow.client_id, challenge),
        allow_redirects=False,
        timeout=30,
    )
    assert "code=" in _location(redirect)
    responses["code-redirect"] = redirect
    for name, response in responses.items():
        policy = response.headers.get("Referrer-Policy", "")
        assert policy in SAFE_REFERRER_POLICIES, (name, policy)


VOLATILE_HEADERS = {"date", "x-request-id", "server"}
# Clock-valued: the two answers may straddle a second boundary. Their presence is still compared.
CLOCK_HEADERS = {"expires"}


def _comparable(response):
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS}
    for name in CLOCK_HEADERS & headers.keys():
        headers[name] = "<clock>"
    return response.status_code, headers, response.text


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke"])
@pytest.mark.parametrize("method", ["basic", "post"])
def test_unknown_client_and_wrong_secret_get_the_same_answer(issuer, rp_client, endpoint, method):
    """RFC 6819 4.4.1.11 / 5.1.4.2.2: client authentication reveals nothing about which clients exist.
    Status, headers and body are compared; timing is not asserted (bench/ measures it)."""
    client, secret = rp_client
    data = {"grant_type": "client_credentials", "token": "x" * 43}

    def attempt(client_id, client_secret):
        if method == "basic":
            return requests.post(issuer + endpoint, data=data, auth=(client_id, client_secret), timeout=30)
        return requests.post(
            issuer + endpoint,
            data={**data, "client_id": client_id, "client_secret": client_secret},
            timeout=30,
        )

    wrong_secret = attempt(client.client_id, altered(secret, 2))
    unknown = attempt("no-such-client-" + secrets.token_hex(8), secret)
    assert wrong_secret.status_code == 401
    assert _comparable(wrong_secret) == _comparable(unknown)


def test_login_does_not_reveal_which_emails_exist(issuer, user, django_user_model):
    """OWASP account enumeration (RFC 6819 5.1.4.2.2 in spirit): unknown email = wrong password."""
    django_user_model.objects.create_user("disabled@example.com", PASSWORD, is_active=False)

    def attempt(email, password):
        browser = Browser(issuer)
        page = browser.get("/accounts/login/")
        response = browser.submit(page, {"username": email, "password": password})
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.text)
        body = re.sub(r'data-csrf="[^"]+"', "", body)  # the passkey script's copy of the same token
        body = re.sub(r'value="[^"]*@example\.com"', 'value=""', body)  # the email is echoed back
        cookies = sorted(c.name for c in response.cookies)
        return response.status_code, cookies, body

    unknown = attempt("nobody-" + secrets.token_hex(4) + "@example.com", "some password 1")
    wrong_password = attempt(user.email, "not the password 1")
    disabled = attempt("disabled@example.com", PASSWORD)
    assert unknown[0] == 200 and "not correct" in unknown[2]
    assert unknown == wrong_password
    assert unknown == disabled
