"""A password sign-in while the login page's passkey autofill request is still asking for its options.

That options answer sets the session cookie (its session keeps the challenge). Had it reached the
browser after the sign-in's own answer, it would have replaced the signed-in session's cookie and the
person would have been signed out at their next click: seen as a random failure of the refusal-page
test on a busy machine. The password form now waits for the options (static/accounts/passkeys.js).

Made certain here: the options are answered 0.7 s late, and the page the sign-in redirects to 2 s late,
so without the wait the options answer lands between the sign-in's answer and that page.
"""

import time
from urllib.parse import urlencode

import pytest
from django.core.signals import request_started

from tests.browser.test_pages_in_chromium import sign_in
from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_late_passkey_options_answer_does_not_sign_the_person_out(page, user, rp_client, monkeypatch):
    from accounts import passkeys

    options = passkeys.passkey_authentication_options

    def late_options(**kwargs):
        time.sleep(0.7)
        return options(**kwargs)

    monkeypatch.setattr(passkeys, "passkey_authentication_options", late_options)
    held = []

    def hold_the_signed_in_authorize(sender, environ, **kwargs):
        # The page the sign-in redirects to (the only /authorize request carrying a session cookie).
        if environ.get("PATH_INFO") == "/authorize" and "sessionid=" in environ.get("HTTP_COOKIE", ""):
            held.append(environ["PATH_INFO"])
            time.sleep(2)

    request_started.connect(hold_the_signed_in_authorize)
    try:
        _sign_in_then_click(page, user, rp_client)
    finally:
        request_started.disconnect(hold_the_signed_in_authorize)
    assert held  # the window was there


def _sign_in_then_click(page, user, rp_client):
    client, _secret = rp_client
    _verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile",
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"/authorize?{query}")
    sign_in(page, user.email, PASSWORD)
    page.goto(f"/authorize?{query}")  # the next click, as it were
    assert "/accounts/login" not in page.url
    assert page.locator("#authorizationForm").count() == 1  # the consent page, signed in
