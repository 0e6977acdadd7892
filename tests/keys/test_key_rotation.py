"""Key rotation as relying parties and resource servers see it: over real HTTP, against a live server.

Tokens are verified the way a client would, with PyJWT against the JWKS fetched over HTTP: nothing of
Signet's own code decides whether they pass.
"""

import jwt
import pytest
import requests

from keys import maintenance
from keys.models import SigningKey
from tests.conftest import POST_LOGOUT_URI
from tests.keys.conftest import RELOAD_EVERY_CALL, SHORT_SCHEDULE
from tests.keys.http import (
    API,
    authorize_params,
    keys_command,
    kid_of,
    kids,
    logout,
    sign_in,
    userinfo,
    verify,
)
from tests.support.browser import pkce_pair, query

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ring")]


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


def test_authorize_accepts_a_pre_rotation_id_token_as_id_token_hint(issuer, browser, user, rp_client):
    client, _secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)  # a session, and consent remembered
    keys_command("rotate")

    def silent_authorize(hint):
        params = {**authorize_params(client, pkce_pair()[1]), "prompt": "none", "id_token_hint": hint}
        response = browser.get("/authorize", params=params)
        assert response.status_code == 302, response.text[:300]
        return query(response.headers["Location"])

    assert "code" in silent_authorize(before["id_token"])
    keys_command("revoke", kid_of(before["id_token"]))
    assert silent_authorize(before["id_token"])["error"] == "invalid_request"  # never a silent success


def test_introspection_reports_a_revoked_keys_token_inactive(issuer, browser, user, rp_client):
    client, secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)

    def introspect():
        response = requests.post(
            f"{issuer}/introspect",
            data={"token": before["access_token"]},
            auth=(client.client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert introspect()["active"] is True
    keys_command("revoke", kid_of(before["access_token"]))
    assert introspect() == {"active": False}


def test_scheduled_rotation_happens_in_the_background_with_no_cron(
    issuer, browser, user, rp_client, clock, preset, maintenance_wakes
):
    preset(RELOAD_EVERY_CALL, SHORT_SCHEDULE)  # rotate daily, pre-publish for an hour
    client, _secret = rp_client
    before = sign_in(issuer, browser, user, rp_client)
    old_kid = kid_of(before["id_token"])
    next_kid = SigningKey.objects.get(state="next").kid
    assert next_kid in kids(issuer)  # published long before it signs

    clock.advance(hours=23, minutes=59)
    assert kid_of(sign_in(issuer, browser, user, rp_client)["access_token"]) == old_kid
    assert maintenance_wakes == []
    clock.advance(minutes=1)
    # Due: the request signs with the current key and leaves the rotation to the background step.
    assert kid_of(sign_in(issuer, browser, user, rp_client)["access_token"]) == old_kid
    assert SigningKey.objects.get(kid=old_kid).state == "active"
    assert maintenance_wakes
    maintenance.run()  # what the woken thread does
    after = sign_in(issuer, browser, user, rp_client)
    assert kid_of(after["access_token"]) == next_kid and kid_of(after["id_token"]) == next_kid
    assert {old_kid, next_kid} <= kids(issuer)
    verify(before["id_token"], issuer, audience=client.client_id)
