"""The sample relying party's back-channel logout endpoint (sample_api/backchannel.py).

End to end: the sample RP (its own process) signed in through the live provider, the user ends that
sign-in at Signet, the provider POSTs a logout token (the suite runs tasks at once), and the sample's
page shows the browser signed out. Then the verification rules of Back-Channel Logout 1.0 2.6, one by
one, in this process with an injected clock, and over HTTP the replay rule, the answer's shape and
hostile bytes.
"""

import secrets
import time

import pytest
import requests

from sample_api.jwks import JWKSClient
from sample_api.tokens import LOGOUT_EVENT, InvalidToken, logout_token_verify
from tests.conftest import PASSWORD, POST_LOGOUT_URI
from tests.oidc.flows import Flow
from tests.sample_api.conftest import RP_CLIENT_ID, rp_register
from tests.sample_api.test_rp_login import back_at_rp, home, start
from tests.sample_api.tokens import own_signed, provider_signed, rsa_key
from tests.support import raw_http
from tests.support.browser import Browser

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/rp/backchannel-logout"
T = 2_000_000_000  # "now" for the in-process rule tests


@pytest.fixture
def rp(rp_api, issuer):
    """The sample RP registered at the provider with its back-channel logout URI, as demo.py does."""
    return rp_register(
        rp_api, backchannel_logout_uri=f"{rp_api.url}{PATH}", backchannel_logout_session_required=True
    )


def signed_in_at_rp(issuer, rp, user):
    """A new browser, signed in at the sample RP through the provider."""
    browser = Browser(issuer)
    page = browser.login(browser.get(start(browser, rp)), user.email, PASSWORD)
    if 'id="authorizationForm"' in page.text:  # the first sign-in asks for consent, later ones not
        page = browser.consent(page)
    assert page.status_code == 302, page.text
    done = back_at_rp(browser, page.headers["Location"])
    assert done.status_code == 302, done.text
    assert "Signed in as" in home(browser, rp).text
    return browser


def test_ending_the_sign_in_at_signet_signs_the_sample_rp_out(issuer, rp, user, settings):
    from accounts.models import SignInSession
    from provider.audit.models import AuditEvent

    assert settings.TASKS["default"]["BACKEND"].endswith("ImmediateBackend")  # delivered in the request
    ended = signed_in_at_rp(issuer, rp, user)
    kept = signed_in_at_rp(issuer, rp, user)  # another sign-in of the same user: another sid
    [record, _] = SignInSession.objects.order_by("pk")

    page = kept.get("/accounts/sessions/")
    assert f'id="session-{record.pk}"' in page.text
    response = kept.submit(page, form_index=0)  # ends the first other sign-in: `ended`'s
    assert response.status_code == 200 and "That sign-in was ended." in response.text

    delivered = AuditEvent.objects.filter(event="backchannel.delivered", client_id=RP_CLIENT_ID)
    assert [(e.data["status"]) for e in delivered] == [200]
    page = home(ended, rp)
    assert "Signed in as" not in page.text and 'id="login"' in page.text
    # Only that sign-in: the other browser's session at the sample RP is untouched.
    assert "Signed in as" in home(kept, rp).text


def test_logging_out_of_another_app_of_the_same_sign_in_signs_the_sample_rp_out(issuer, rp, user, rp_client):
    browser = signed_in_at_rp(issuer, rp, user)
    client, secret = rp_client
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    tokens = flow.tokens()  # the same provider sign-in, now also at the other app
    # RP-initiated logout at that other app ends the sign-in, and so the sample RP's session.
    response = browser.get(
        "/logout", params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI}
    )
    assert response.status_code == 302 and response.headers["Location"] == POST_LOGOUT_URI
    assert 'id="login"' in home(browser, rp).text


# --- the rules, in this process ----------------------------------------------------------------


def logout_claims(issuer, **overrides):
    claims = {
        "iss": issuer,
        "aud": RP_CLIENT_ID,
        "iat": T,
        "exp": T + 120,
        "jti": secrets.token_hex(16),
        "sub": "some-user",
        "sid": "some-sid",
        "events": {LOGOUT_EVENT: {}},
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def verify(issuer):
    keys = JWKSClient(issuer=issuer)

    def verify(token, now=T):
        return logout_token_verify(
            token, keys=keys, issuer=issuer, client_id=RP_CLIENT_ID, algorithms=["RS256"], leeway=30, now=now
        )

    return verify


def test_a_valid_logout_token_gives_its_claims(issuer, verify):
    claims = verify(provider_signed(logout_claims(issuer), typ="logout+jwt"))
    assert (claims["sid"], claims["sub"]) == ("some-sid", "some-user")
    assert verify(provider_signed(logout_claims(issuer, sub=None), typ="logout+jwt"))["sid"] == "some-sid"
    assert verify(provider_signed(logout_claims(issuer, sid=None), typ="logout+jwt"))["sub"] == "some-user"
    audiences = ["another-client", RP_CLIENT_ID]
    assert verify(provider_signed(logout_claims(issuer, aud=audiences), typ="logout+jwt"))["aud"] == audiences


@pytest.mark.parametrize(
    ("overrides", "typ", "now", "message"),
    [
        ({}, "JWT", T, "not a logout token"),
        ({}, "at+jwt", T, "not a logout token"),
        ({}, None, T, "not a logout token"),
        ({"iss": "https://other.example"}, "logout+jwt", T, "another issuer"),
        ({"aud": "another-client"}, "logout+jwt", T, "another audience"),
        ({"iat": None}, "logout+jwt", T, "lacks the iat claim"),
        ({"exp": None}, "logout+jwt", T, "lacks the exp claim"),
        ({}, "logout+jwt", T + 120 + 31, "expired"),
        ({"iat": T + 60}, "logout+jwt", T, "issued in the future"),
        ({"jti": None}, "logout+jwt", T, "lacks the jti claim"),
        ({"events": None}, "logout+jwt", T, "lacks the events claim"),
        ({"events": {"http://schemas.openid.net/event/other": {}}}, "logout+jwt", T, "not a back-channel"),
        ({"events": {LOGOUT_EVENT: "yes"}}, "logout+jwt", T, "not a back-channel"),
        ({"events": [LOGOUT_EVENT]}, "logout+jwt", T, "not a back-channel"),
        ({"sid": None, "sub": None}, "logout+jwt", T, "neither a sub nor a sid"),
        ({"sid": ""}, "logout+jwt", T, "non-empty strings"),
        ({"sid": 7}, "logout+jwt", T, "non-empty strings"),
        ({"nonce": "n-0S6_WzA2Mj"}, "logout+jwt", T, "must not carry a nonce"),
    ],
)
def test_a_logout_token_breaking_a_rule_is_refused(issuer, verify, overrides, typ, now, message):
    claims = logout_claims(issuer, **overrides)
    if typ is None:
        from keys import jwt as provider_jwt

        token = provider_jwt.sign(claims)  # the provider's default header type
    else:
        token = provider_signed(claims, typ=typ)
    with pytest.raises(InvalidToken, match=message):
        verify(token, now=now)


def test_a_logout_token_signed_by_another_key_is_refused(issuer, verify):
    from keys.models import SigningKey

    kid = SigningKey.objects.get(state="active").kid  # the provider's kid, not its key
    with pytest.raises(InvalidToken, match="signature does not verify"):
        verify(own_signed(logout_claims(issuer), rsa_key(), kid, typ="logout+jwt"))
    with pytest.raises(InvalidToken, match="unknown key"):
        verify(own_signed(logout_claims(issuer), rsa_key(), "made-up-kid", typ="logout+jwt"))


# --- over HTTP, at the sample process -----------------------------------------------------------


def post(rp, **data):
    return requests.post(f"{rp.url}{PATH}", data=data, timeout=30)


def assert_refused(response, fragment=""):
    assert response.status_code == 400, response.text
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert body["error"] == "invalid_request" and fragment in body["error_description"]


def fresh(issuer, **overrides):
    now = int(time.time())
    return provider_signed(logout_claims(issuer, iat=now, exp=now + 120, **overrides), typ="logout+jwt")


def test_a_logout_token_is_accepted_once(issuer, rp):
    token = fresh(issuer)
    first = post(rp, logout_token=token)
    assert first.status_code == 200 and "no-store" in first.headers["Cache-Control"]
    assert_refused(post(rp, logout_token=token), "already used")
    # Another jti for the same sign-in is a new token.
    assert post(rp, logout_token=fresh(issuer)).status_code == 200


def test_bad_logout_tokens_are_refused_over_http(issuer, rp):
    assert_refused(post(rp), "missing")
    assert_refused(post(rp, logout_token="not.a.jwt"), "malformed")
    assert_refused(post(rp, logout_token=fresh(issuer, nonce="n")), "nonce")
    assert_refused(post(rp, logout_token=fresh(issuer, aud="another-client")), "audience")
    expired = provider_signed(logout_claims(issuer, iat=T - 10**9, exp=T - 10**9 + 120), typ="logout+jwt")
    assert_refused(post(rp, logout_token=expired), "expired")
    # GET is not the protocol's method.
    assert requests.get(f"{rp.url}{PATH}", timeout=30).status_code == 405


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([("Content-Type", b"application/x-www-form-urlencoded")], b"logout_token=%ff%fe%00\xff\xfe"),
        ([("Content-Type", b"application/x-www-form-urlencoded")], b"logout_token=" + b"A" * 70000),
        ([("Content-Type", b"application/x-www-form-urlencoded")], b"%%%&&&==\x00\x01"),
        ([("Content-Type", b"multipart/form-data; boundary=x")], b"--x\r\nbroken"),
        ([("Content-Type", b"multipart/form-data")], b"logout_token=a"),
        ([("Content-Type", b"application/json")], b'{"logout_token": "a.b.c"}'),
        ([("Content-Type", b"application/x-www-form-urlencoded; charset=\xff")], b"logout_token=a"),
        ([], b"\x00\xff" * 100),
    ],
)
def test_hostile_bytes_are_refused_never_a_500(rp, headers, body):
    response = raw_http.send(rp.url, "POST", PATH.encode(), headers=headers, body=body)
    assert response.status_code == 400, response.text
