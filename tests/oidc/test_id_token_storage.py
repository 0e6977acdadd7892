"""The access token DOT stores is linked to the ID token issued with it, without re-verifying it.

DOT's _save_bearer_token loads the ID token it has just signed through `_load_id_token` (a private
method: signature verification plus a query by jti); SignetValidator answers that from memory.
"""

import hashlib

import jwt
import pytest
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dot_id_token_loads(monkeypatch):
    calls = []
    original = OAuth2Validator._load_id_token

    def counting(self, token):
        calls.append(token)
        return original(self, token)

    monkeypatch.setattr(OAuth2Validator, "_load_id_token", counting)
    return calls


def test_code_exchange_links_the_access_token_to_its_id_token_without_reloading_it(
    flow, user, dot_id_token_loads
):
    tokens = flow.tokens(scope="openid offline_access")
    checksum = hashlib.sha256(tokens["access_token"].encode()).hexdigest()
    stored = get_access_token_model().objects.select_related("id_token").get(token_checksum=checksum)
    assert (
        str(stored.id_token.jti) == jwt.decode(tokens["id_token"], options={"verify_signature": False})["jti"]
    )
    assert dot_id_token_loads == []

    refreshed = flow.refresh(tokens["refresh_token"]).json()
    checksum = hashlib.sha256(refreshed["access_token"].encode()).hexdigest()
    stored = get_access_token_model().objects.select_related("id_token").get(token_checksum=checksum)
    assert (
        str(stored.id_token.jti)
        == jwt.decode(refreshed["id_token"], options={"verify_signature": False})["jti"]
    )
    assert dot_id_token_loads == []


def test_any_other_id_token_is_still_verified(flow, user, dot_id_token_loads):
    from provider.oidc.validators import SignetValidator

    tokens = flow.tokens()
    validator = SignetValidator()
    loaded = validator._load_id_token(tokens["id_token"])
    assert loaded is not None and len(dot_id_token_loads) == 1
    header, payload, signature = tokens["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert validator._load_id_token(forged) is None
