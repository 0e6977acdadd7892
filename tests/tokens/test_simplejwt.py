"""djangorestframework-simplejwt, configured as the tutorial's resource servers are, verifies Signet tokens.

simplejwt fetches our JWKS itself (JWK_URL). It never looks at the JOSE header, so on its own it takes
an ID token for an access token whenever the audience matches (or is not checked); the small subclass
that README "Verifying Signet tokens with simplejwt" shows adds RFC 9068's typ check.
"""

import jwt
import pytest
from django.test import RequestFactory
from rest_framework_simplejwt import authentication as simplejwt_authentication
from rest_framework_simplejwt import models as simplejwt_models
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import state
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from tests.tokens.conftest import API

pytestmark = pytest.mark.django_db(transaction=True)


class SignetAccessToken(AccessToken):
    """An RFC 9068 access token: refuse anything whose header is not typ at+jwt (e.g. an ID token)."""

    def verify(self):
        super().verify()
        typ = jwt.get_unverified_header(self.token).get("typ", "")
        if typ.lower() not in ("at+jwt", "application/at+jwt"):
            raise TokenError("Not an access token")


def _simplejwt(monkeypatch, issuer, *, audience, token_classes):
    """Configure simplejwt as a resource server's SIMPLE_JWT setting would at start-up.

    simplejwt reads SIMPLE_JWT once: each of its modules holds the settings object, and
    state.token_backend is built at import. A test swaps both, as a fresh process would have them.
    """
    config = {
        "ALGORITHM": "RS256",
        "JWK_URL": f"{issuer}/jwks",
        "ISSUER": issuer,
        "AUDIENCE": audience,
        "USER_ID_CLAIM": "sub",
        "TOKEN_TYPE_CLAIM": None,
        "JTI_CLAIM": "jti",
        "AUTH_TOKEN_CLASSES": token_classes,
    }
    configured = simplejwt_settings.APISettings(
        config, simplejwt_settings.DEFAULTS, simplejwt_settings.IMPORT_STRINGS
    )
    for module in (simplejwt_settings, simplejwt_tokens, simplejwt_authentication, simplejwt_models):
        monkeypatch.setattr(module, "api_settings", configured)
    backend = TokenBackend("RS256", audience=audience, issuer=issuer, jwk_url=f"{issuer}/jwks")
    monkeypatch.setattr(state, "token_backend", backend)


def _authenticate(token_value):
    request = RequestFactory().get("/api/hello/", HTTP_AUTHORIZATION=f"Bearer {token_value}")
    return JWTStatelessUserAuthentication().authenticate(request)


@pytest.fixture
def tokens(signed_in):
    _client, _secret, body = signed_in
    return body


def test_simplejwt_accepts_a_signet_access_token(issuer, tokens, user, monkeypatch):
    for token_class in ("rest_framework_simplejwt.tokens.AccessToken", f"{__name__}.SignetAccessToken"):
        _simplejwt(monkeypatch, issuer, audience=API, token_classes=(token_class,))
        token_user, validated = _authenticate(tokens["access_token"])
        assert token_user.id == str(user.pk)
        assert validated["client_id"] and validated["scope"] == "openid profile email offline_access"


def test_an_id_token_is_refused_as_an_access_token(issuer, signed_in, monkeypatch):
    client, _secret, body = signed_in
    # With AUDIENCE set to the API, the ID token's aud (the client id) already fails...
    _simplejwt(monkeypatch, issuer, audience=API, token_classes=(f"{__name__}.SignetAccessToken",))
    with pytest.raises(InvalidToken):
        _authenticate(body["id_token"])

    # ...but a resource server whose audience is the client's own id (or unchecked) would take the ID
    # token with plain simplejwt. The typ check refuses it in every configuration.
    for audience in (client.client_id, None):
        plain = ("rest_framework_simplejwt.tokens.AccessToken",)
        _simplejwt(monkeypatch, issuer, audience=audience, token_classes=plain)
        assert _authenticate(body["id_token"]) is not None  # the danger the subclass removes
        _simplejwt(monkeypatch, issuer, audience=audience, token_classes=(f"{__name__}.SignetAccessToken",))
        with pytest.raises(InvalidToken):
            _authenticate(body["id_token"])
