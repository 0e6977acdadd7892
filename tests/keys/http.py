"""HTTP helpers for the key ring's protocol tests: a relying party's view of Signet."""

import secrets

import jwt
import requests
from django.core.management import call_command

from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import pkce_pair, query

API = "https://api.example.com"


def jwks(issuer):
    response = requests.get(f"{issuer}/jwks", timeout=10)
    assert response.status_code == 200
    return response.json()


def kids(issuer):
    return {k["kid"] for k in jwks(issuer)["keys"]}


def kid_of(token):
    return jwt.get_unverified_header(token)["kid"]


def verify(token, issuer, *, audience):
    """Verify as a relying party does: the key named by kid in the JWKS fetched right now."""
    key = next((k for k in jwks(issuer)["keys"] if k["kid"] == kid_of(token)), None)
    if key is None:
        raise jwt.InvalidTokenError(f"kid {kid_of(token)} is not in the JWKS")
    return jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "sub", "aud"]},
    )


def authorize_params(client, challenge):
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def sign_in(issuer, browser, user, rp_client):
    """The authorization code flow through the real login and consent forms; the token response."""
    client, secret = rp_client
    verifier, challenge = pkce_pair()
    page = browser.get("/authorize", params=authorize_params(client, challenge))
    if 'name="password"' in page.text:
        page = browser.login(page, user.email, PASSWORD)
    if 'id="authorizationForm"' in page.text:
        page = browser.consent(page)
    assert page.status_code == 302 and page.headers["Location"].startswith(REDIRECT_URI), page.text[:300]
    response = requests.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": query(page.headers["Location"])["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def userinfo(issuer, access_token):
    return requests.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def logout(browser, id_token_hint, state="bye"):
    """RP-initiated logout with a hint and a registered post-logout URI; confirms if asked to.

    The hint is verified on the GET (a bad one gets a 400 error page) and again on the confirmation.
    """
    response = browser.get(
        "/logout",
        params={"id_token_hint": id_token_hint, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": state},
    )
    if response.status_code == 200 and 'name="allow"' in response.text:
        response = browser.submit(response, button="allow")
    return response


def keys_command(*args):
    call_command("keys", *args)
