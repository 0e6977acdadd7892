"""The sample browser login (sample_api/rp_views.py) end to end against the live provider.

One scripted browser (real HTTP, cookies, forms) visits both servers; the sample API is its own
process, so everything it learns about the provider comes over HTTP.
"""

import os
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from tests.conftest import PASSWORD
from tests.sample_api.conftest import RP_CLIENT_ID, RP_SECRET, rp_register
from tests.support.browser import Browser, forms, query

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rp(rp_api, issuer):
    """The sample app, registered at the provider as a confidential client."""
    return rp_register(rp_api)


def replace_param(url, name, value):
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    params[name] = value
    return urlunsplit(parts._replace(query=urlencode(params)))


def start(browser, rp):
    """Click "Sign in": the sample app redirects the browser to the provider."""
    response = browser.http.get(f"{rp.url}/rp/login/", allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def at_provider(browser, authorize_url, user, allow=True):
    """Sign in and answer the consent page; returns the provider's redirect back to the sample app."""
    page = browser.login(browser.get(authorize_url), user.email, PASSWORD)
    redirect = browser.consent(page, allow=allow)
    assert redirect.status_code == 302
    return redirect.headers["Location"]


def back_at_rp(browser, callback_url):
    return browser.http.get(callback_url, allow_redirects=False, timeout=30)


def home(browser, rp):
    return browser.http.get(f"{rp.url}/rp/", timeout=30)


def test_sign_in_end_to_end(issuer, rp, browser, user):
    authorize_url = start(browser, rp)
    params = query(authorize_url)
    assert authorize_url.startswith(f"{issuer}/authorize?")
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == f"{rp.url}/rp/callback/"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 43 and len(params["nonce"]) >= 43

    callback_url = at_provider(browser, authorize_url, user)
    assert callback_url.startswith(f"{rp.url}/rp/callback/?")
    done = back_at_rp(browser, callback_url)
    assert done.status_code == 302 and done.headers["Location"] == "/rp/"

    page = home(browser, rp)
    assert page.status_code == 200
    assert "Signed in as <strong>Alice Liddell</strong>" in page.text
    assert f'<code id="sub">{user.pk}</code>' in page.text
    # The page's call to /me/ with the session's access token succeeded and saw this user.
    assert '<strong id="me-status">200</strong>' in page.text
    assert f"&quot;sub&quot;: &quot;{user.pk}&quot;" in page.text
    # Tokens stay server-side: no JWT in any URL of the flow, nor in the page.
    for url in (authorize_url, callback_url, done.headers["Location"]):
        assert "eyJ" not in url
    assert "eyJ" not in page.text
    # The sign-in got a fresh session id; both servers keep their own cookie on the shared host.
    assert {"sample_api_session", "sessionid"} <= {c.name for c in browser.http.cookies}


def test_a_tampered_state_is_rejected_and_the_sign_in_is_spent(rp, browser, user):
    callback_url = at_provider(browser, start(browser, rp), user)

    forged = back_at_rp(browser, replace_param(callback_url, "state", secrets.token_urlsafe(32)))

    assert forged.status_code == 400
    assert "state mismatch" in forged.text
    assert "Not signed in" in home(browser, rp).text
    # The genuine response cannot be replayed after the forged one: the pending sign-in is gone.
    replay = back_at_rp(browser, callback_url)
    assert replay.status_code == 400 and "No sign-in is in progress" in replay.text
    assert "Not signed in" in home(browser, rp).text


def test_a_tampered_nonce_is_rejected(rp, browser, user):
    # An attacker rewrites the nonce on its way to the provider: the ID token then carries theirs.
    authorize_url = replace_param(start(browser, rp), "nonce", "attacker-nonce")
    callback_url = at_provider(browser, authorize_url, user)

    response = back_at_rp(browser, callback_url)

    assert response.status_code == 400
    assert "nonce does not match" in response.text
    assert "Not signed in" in home(browser, rp).text


def test_a_response_naming_another_issuer_is_rejected(rp, browser, user):
    callback_url = at_provider(browser, start(browser, rp), user)

    response = back_at_rp(browser, replace_param(callback_url, "iss", "https://evil.example"))

    assert response.status_code == 400 and "another issuer" in response.text


def test_a_response_without_the_promised_iss_is_rejected(rp, browser, user):
    # Signet's discovery says authorization_response_iss_parameter_supported (RFC 9207).
    callback_url = at_provider(browser, start(browser, rp), user)
    parts = urlsplit(callback_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "iss"}

    response = back_at_rp(browser, urlunsplit(parts._replace(query=urlencode(params))))

    assert response.status_code == 400 and "another issuer" in response.text


def test_a_response_for_another_browser_is_rejected(issuer, rp, browser, user):
    # The victim's browser has its own sign-in in flight; the attacker's callback URL (their code,
    # their state) must not sign the victim in (RFC 6749 10.12).
    attacker_callback = at_provider(browser, start(browser, rp), user)
    victim = Browser(issuer)
    start(victim, rp)

    response = back_at_rp(victim, attacker_callback)

    assert response.status_code == 400 and "state mismatch" in response.text
    assert "Not signed in" in home(victim, rp).text


def test_a_callback_without_a_sign_in_in_progress_is_rejected(rp, browser):
    response = back_at_rp(browser, f"{rp.url}/rp/callback/?code=abc&state=xyz")

    assert response.status_code == 400 and "No sign-in is in progress" in response.text


def test_a_refused_consent_is_reported(rp, browser, user):
    callback_url = at_provider(browser, start(browser, rp), user, allow=False)

    response = back_at_rp(browser, callback_url)

    assert response.status_code == 400 and "access_denied" in response.text


def test_sign_out_ends_both_sessions(issuer, rp, browser, user):
    back_at_rp(browser, at_provider(browser, start(browser, rp), user))
    page = home(browser, rp)
    form = forms(page.text)[0]

    response = browser.http.post(
        f"{rp.url}{form['action']}", data=form["fields"], allow_redirects=False, timeout=30
    )

    assert response.status_code == 302
    end_session = response.headers["Location"]
    assert end_session.startswith(f"{issuer}/logout?")
    params = query(end_session)
    assert params["post_logout_redirect_uri"] == f"{rp.url}/rp/"
    assert params["client_id"] and params["id_token_hint"].count(".") == 2
    assert "Not signed in" in home(browser, rp).text  # forgotten here before leaving
    back = browser.get(end_session)
    if back.status_code == 200:  # the provider asks "Sign out of Sample app?" (the spec's SHOULD)
        back = browser.submit(back, button="allow")
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{rp.url}/rp/")
    # The provider's session is over too: authorizing again asks for the password.
    assert 'name="password"' in browser.get(start(browser, rp)).text


def test_sign_out_needs_a_post_with_the_csrf_token(rp, browser, user):
    back_at_rp(browser, at_provider(browser, start(browser, rp), user))

    assert browser.http.get(f"{rp.url}/rp/logout/", timeout=30).status_code == 405
    assert browser.http.post(f"{rp.url}/rp/logout/", timeout=30).status_code == 403
    assert "Signed in as" in home(browser, rp).text


def test_without_client_credentials_the_sign_in_explains_itself(sample_api):
    page = requests.get(f"{sample_api.url}/rp/", timeout=30)
    login = requests.get(f"{sample_api.url}/rp/login/", timeout=30, allow_redirects=False)

    assert re.search(r"set <code>RESOURCE_CLIENT_ID</code>", page.text)
    assert login.status_code == 503


# .ci/run gives its concurrent SQLite and PostgreSQL runs a Redis database each (and this one below it).
SAMPLE_REDIS_DB = int(os.environ.get("SIGNET_TEST_REDIS_DB", "15")) - 1


def redis_unavailable():
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as e:
        return f"no Redis on 127.0.0.1:6379 ({e})"
    return None


@pytest.mark.skipif(redis_unavailable() is not None, reason=str(redis_unavailable()))
def test_instances_sharing_redis_share_the_sign_in(issuer, sample_api_factory, browser, user):
    # docker-compose runs several workers: a sign-in started on one must complete on another.
    shared = {
        "RESOURCE_CLIENT_ID": RP_CLIENT_ID,
        "RESOURCE_CLIENT_SECRET": RP_SECRET,
        "RESOURCE_CACHE_URL": f"redis://127.0.0.1:6379/{SAMPLE_REDIS_DB}",
    }
    first, second = sample_api_factory(**shared), sample_api_factory(**shared)
    rp_register(first)
    callback_url = at_provider(browser, start(browser, first), user)

    done = back_at_rp(browser, callback_url.replace(first.url, second.url))

    assert done.status_code == 302, done.text
    assert "Signed in as <strong>Alice Liddell</strong>" in home(browser, first).text
