"""Key rotation as relying parties and resource servers see it: over real HTTP, against a live server.

Tokens are verified the way a client would, with PyJWT against the JWKS fetched over HTTP: nothing of
Signet's own code decides whether they pass.
"""

import secrets

import jwt
import pytest
import requests
from django.core.management import call_command

from keys.models import SigningKey
from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import pkce_pair, query

pytestmark = pytest.mark.django_db(transaction=True)
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


def test_a_rotation_goes_unnoticed_by_relying_parties_and_resource_servers(issuer, browser, user, rp_client):
    client, _secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)
    old_kid = kid_of(before["id_token"])
    assert kid_of(before["access_token"]) == old_kid
    assert kids(issuer) == set(SigningKey.objects.exclude(state="revoked").values_list("kid", flat=True))

    keys_command("rotate")
    new_kid = SigningKey.objects.get(state="active").kid
    assert new_kid != old_kid
    published = kids(issuer)
    assert {old_kid, new_kid} <= published and len(published) == 3  # retired, active, next

    # Tokens issued before the rotation still verify against the new JWKS, and still work here.
    assert verify(before["id_token"], issuer, audience=client.client_id)["sub"] == str(user.pk)
    assert verify(before["access_token"], issuer, audience=API)["sub"] == str(user.pk)
    assert userinfo(issuer, before["access_token"]).status_code == 200

    # New tokens carry the new kid.
    after = sign_in(issuer, browser, user, rp_client)
    assert kid_of(after["id_token"]) == new_kid and kid_of(after["access_token"]) == new_kid
    verify(after["id_token"], issuer, audience=client.client_id)
    verify(after["access_token"], issuer, audience=API)

    # RP-initiated logout accepts an ID token signed before the rotation as id_token_hint.
    response = logout(browser, before["id_token"], state="s1")
    assert response.status_code == 302, response.text[:300]
    assert response.headers["Location"] == f"{POST_LOGOUT_URI}?state=s1"
    page = browser.get("/authorize", params=authorize_params(client, pkce_pair()[1]))
    assert 'name="password"' in page.text  # the session really ended


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(issuer, browser, user, rp_client, clock):
    client, _secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)
    old_kid = kid_of(before["id_token"])
    keys_command("rotate")
    retain_until = SigningKey.objects.get(kid=old_kid).retain_until
    clock.current = retain_until
    assert old_kid in kids(issuer)
    verify(before["id_token"], issuer, audience=client.client_id)
    clock.advance(seconds=1)
    assert old_kid not in kids(issuer)
    with pytest.raises(jwt.InvalidTokenError, match="not in the JWKS"):
        verify(before["id_token"], issuer, audience=client.client_id)
    # The provider no longer accepts it as a logout hint either: no redirect anywhere.
    response = logout(browser, before["id_token"])
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("rotate_first", [False, True], ids=["active-key", "retired-key"])
def test_after_revoke_that_keys_tokens_no_longer_verify(issuer, browser, user, rp_client, rotate_first):
    client, _secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)
    old_kid = kid_of(before["id_token"])
    old_next = SigningKey.objects.get(state="next").kid
    if rotate_first:
        keys_command("rotate")
    keys_command("revoke", old_kid)

    assert old_kid not in kids(issuer)
    for token, audience in ((before["id_token"], client.client_id), (before["access_token"], API)):
        with pytest.raises(jwt.InvalidTokenError, match="not in the JWKS"):
            verify(token, issuer, audience=audience)

    # The provider itself refuses them too: userinfo says invalid_token, logout does not redirect.
    response = userinfo(issuer, before["access_token"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    response = logout(browser, before["id_token"])
    assert response.status_code == 400 and "Location" not in response.headers

    # Signing goes on with a key the leak could not have touched.
    after = sign_in(issuer, browser, user, rp_client)
    new_kid = kid_of(after["access_token"])
    assert new_kid != old_kid
    if not rotate_first:
        assert new_kid != old_next  # a brand-new key, not the pre-published one
    verify(after["access_token"], issuer, audience=API)
    assert userinfo(issuer, after["access_token"]).status_code == 200
