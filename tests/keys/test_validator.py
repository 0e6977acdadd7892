"""The "issuer and keys" part of SignetValidator (provider/oidc/validators.py).

DOT internals it relies on, pinned to DOT 3.4.*: `_get_key_for_token` (private: DOT's logout view
and `_load_id_token` call it), `finalize_id_token` (reads `client.jwk_key` twice), and
`validate_bearer_token` (accepts any token whose checksum row exists).
"""

import hashlib
import time
from datetime import timedelta
from types import SimpleNamespace

import jwt as pyjwt
import pytest
from django.utils import timezone
from jwcrypto.jws import InvalidJWSObject
from oauth2_provider.models import get_access_token_model

from keys import jwt, selectors, services
from provider.oidc.validators import SignetValidator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ring")]


def id_token():
    now = int(time.time())
    return jwt.sign({"iss": "http://testserver", "sub": "u", "aud": "c", "iat": now, "exp": now + 60})


def test_get_key_for_token_picks_the_key_named_by_kid():
    old = id_token()
    services.key_rotate()
    selectors.invalidate()
    key = SignetValidator()._get_key_for_token(old)
    assert key.thumbprint() == pyjwt.get_unverified_header(old)["kid"]
    assert key.thumbprint() != selectors.active_signing_key().kid


def test_get_key_for_token_finds_nothing_for_revoked_keys_or_other_algs():
    token = id_token()
    header_kid = pyjwt.get_unverified_header(token)["kid"]
    none_alg = pyjwt.encode({"sub": "x"}, None, algorithm="none", headers={"kid": header_kid})
    assert SignetValidator()._get_key_for_token(none_alg) is None
    services.key_revoke(kid=header_kid)
    selectors.invalidate()
    assert SignetValidator()._get_key_for_token(token) is None


def test_get_key_for_token_raises_what_dots_logout_view_catches_for_garbage():
    with pytest.raises(InvalidJWSObject):
        SignetValidator()._get_key_for_token("garbage")


def bearer_request():
    return SimpleNamespace(uri="http://testserver/userinfo")


def stored(token, user, client):
    return get_access_token_model().objects.create(
        token_checksum=hashlib.sha256(token.encode()).hexdigest(),
        user=user,
        application=client,
        scope="openid",
        expires=timezone.now() + timedelta(minutes=5),
    )


def test_a_stored_token_whose_key_was_revoked_is_invalid(user, rp_client):
    client, _secret = rp_client
    token = jwt.sign({"sub": str(user.pk)}, typ="at+jwt")
    stored(token, user, client)
    assert SignetValidator().validate_bearer_token(token, ["openid"], bearer_request()) is True
    services.key_revoke(kid=pyjwt.get_unverified_header(token)["kid"])
    selectors.invalidate()
    request = bearer_request()
    assert SignetValidator().validate_bearer_token(token, ["openid"], request) is False
    assert request.oauth2_error["error"] == "invalid_token"


def test_a_token_that_is_not_a_jwt_is_left_to_dot(user, rp_client):
    client, _secret = rp_client
    stored("opaque-token-from-elsewhere", user, client)
    assert (
        SignetValidator().validate_bearer_token("opaque-token-from-elsewhere", [], bearer_request()) is True
    )
    assert SignetValidator().validate_bearer_token("unknown-opaque", [], bearer_request()) is False
