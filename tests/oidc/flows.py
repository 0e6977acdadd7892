"""What the OpenID protocol tests share: authorization requests, the code exchange, ID token checks.

Every request goes over real HTTP to the live server; logins and consents go through the real forms.
"""

import base64
import hashlib
import json
import secrets
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.conf import settings

from tests.conftest import PASSWORD, REDIRECT_URI
from tests.support.browser import pkce_pair, query

__all__ = ["PASSWORD", "REDIRECT_URI", "Flow", "query", "fragment", "is_login_page", "is_consent_page"]


def fragment(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


def is_login_page(response):
    return response.status_code == 200 and 'name="password"' in response.text


def is_consent_page(response):
    return response.status_code == 200 and 'id="authorizationForm"' in response.text


def at_hash(access_token):
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


class Flow:
    """One relying party driving one browser through the authorization code flow."""

    def __init__(self, *, issuer, browser, client, secret=None, redirect_uri=REDIRECT_URI):
        self.issuer = issuer
        self.browser = browser
        self.client = client
        self.secret = secret
        self.redirect_uri = redirect_uri
        self.verifier = None
        self.last_params = {}

    # --- the authorization request ----------------------------------------------------------
    def params(self, **overrides):
        """A complete request (state, nonce, S256 PKCE); pass name=None to leave a parameter out."""
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        self.last_params = {k: v for k, v in params.items() if v is not None}
        return self.last_params

    def authorize(self, **overrides):
        """GET /authorize; follows the provider's own redirects (login page, consent page)."""
        return self.browser.get("/authorize", params=self.params(**overrides))

    def at_relying_party(self, response):
        """The parameters the relying party receives on its redirect URI."""
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri + "?") or location.startswith(self.redirect_uri + "#"), (
            location
        )
        return query(location) or fragment(location)

    def log_in(self, response, email="alice@example.com", password=PASSWORD):
        return self.browser.login(response, email, password)

    def allow(self, response):
        return self.browser.consent(response, allow=True)

    def sign_in(self, email="alice@example.com", password=PASSWORD, **overrides):
        """The whole round: request, login and consent when asked; the RP's parameters."""
        response = self.authorize(**overrides)
        if is_login_page(response):
            response = self.log_in(response, email, password)
        if is_consent_page(response):
            response = self.allow(response)
        return self.at_relying_party(response)

    # --- the token endpoint -----------------------------------------------------------------
    def exchange(self, code, *, verifier="from-request", **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        verifier = self.verifier if verifier == "from-request" else verifier
        if verifier is not None:
            data["code_verifier"] = verifier
        data.update(extra)
        return self.token_request(data)

    def token_request(self, data):
        auth = (self.client.client_id, self.secret) if self.secret else None
        if auth is None:
            data = {"client_id": self.client.client_id, **data}
        return requests.post(f"{self.issuer}/token", data=data, auth=auth, timeout=10)

    def tokens(self, **overrides):
        """Sign in and exchange the code: the token response's JSON."""
        params = self.sign_in(**overrides)
        assert "code" in params, params
        response = self.exchange(params["code"])
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token):
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    # --- checking what came back ------------------------------------------------------------
    def id_token_claims(self, id_token, *, nonce="from-request"):
        """Verify an ID token as a relying party does (JWKS, RS256, iss, aud, exp) and return its claims."""
        jwks = requests.get(f"{self.issuer}/jwks", timeout=10).json()
        kid = jwt.get_unverified_header(id_token)["kid"]
        key = next(k for k in jwks["keys"] if k["kid"] == kid)
        claims = jwt.decode(
            id_token,
            jwt.PyJWK(key).key,
            algorithms=["RS256"],
            audience=self.client.client_id,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "auth_time"]},
        )
        expected_nonce = self.last_params.get("nonce") if nonce == "from-request" else nonce
        assert claims.get("nonce") == expected_nonce
        return claims

    def userinfo(self, access_token):
        return requests.get(
            f"{self.issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
        )


def session_store(browser):
    """The provider-side session of a browser (to age its authentication without sleeping)."""
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=browser.http.cookies.get(settings.SESSION_COOKIE_NAME))


def age_authentication(browser, seconds):
    """Pretend this browser signed in `seconds` earlier than it did; returns the new auth_time."""
    from accounts.sessions import AUTH_TIME_KEY

    store = session_store(browser)
    store[AUTH_TIME_KEY] = int(store[AUTH_TIME_KEY]) - seconds
    store.save()
    return store[AUTH_TIME_KEY]


def claims_param(value):
    return json.dumps(value, separators=(",", ":"))
