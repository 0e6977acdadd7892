"""The sample browser login: the tutorial's oidc_login / oidc_callback, done as OIDC Core asks.

- Authorization code with PKCE S256; `state` and `nonce` are random, kept in this browser's
  server-side session, used once, and compared in constant time.
- The code is exchanged with `grant_type`, `redirect_uri` and the PKCE verifier, authenticating
  with the client secret (HTTP Basic, form-encoded as RFC 6749 2.3.1 says).
- The ID token is fully verified (signature through the cached JWKS, iss, aud, azp, exp, nonce,
  at_hash) before anyone is considered signed in.
- Tokens stay in the server-side session, never in the page or a URL. The one exception is the
  spec's own: logout sends the ID token to the provider's end_session_endpoint as `id_token_hint`
  (RP-Initiated Logout 1.0 section 2); it grants nothing, since the API refuses ID tokens.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from urllib.parse import quote_plus, urlencode

import requests
from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import backchannel, tokens
from .jwks import KeysUnavailable, jwks_client

log = logging.getLogger(__name__)

PENDING = "rp_pending_login"  # session key: the one sign-in this browser has in flight
SIGNED_IN = "rp_signed_in"  # session key: tokens and verified ID-token claims


class LoginFailed(Exception):
    """The sign-in must stop; str(exc) is shown to the user."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def _error(request, message, status):
    return render(request, "sample_api/rp_error.html", {"message": message}, status=status)


def _configured():
    return bool(settings.RESOURCE_CLIENT_ID and settings.RESOURCE_CLIENT_SECRET)


def _pkce_challenge(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url, params):
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _call_me(request, access_token):
    """Call this API's /me/ over HTTP with the access token, as any client of the API would."""
    try:
        response = requests.get(
            request.build_absolute_uri(reverse("me")),
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.RESOURCE_HTTP_TIMEOUT,
        )
    except requests.RequestException as e:
        return {"status": None, "body": f"request failed: {e.__class__.__name__}"}
    try:
        body = json.dumps(response.json(), indent=2)
    except ValueError:
        body = response.text[:500]
    return {
        "status": response.status_code,
        "body": body,
        "challenge": response.headers.get("WWW-Authenticate"),
    }


@never_cache
@require_GET
def home(request):
    """Who is signed in, and what /me/ answers with their access token."""
    signed_in = request.session.get(SIGNED_IN)
    context = {"configured": _configured(), "signed_in": signed_in, "issuer": settings.RESOURCE_ISSUER}
    if signed_in:
        context["me"] = _call_me(request, signed_in["access_token"])
        context["expires_in"] = int(signed_in["expires_at"] - time.time())
    return render(request, "sample_api/rp_home.html", context)


@never_cache
@require_GET
def login(request):
    """Start a sign-in: remember state, nonce and the PKCE verifier, then send the browser to authorize."""
    if not _configured():
        return _error(
            request, "Set RESOURCE_CLIENT_ID and RESOURCE_CLIENT_SECRET to enable the sign-in.", 503
        )
    try:
        authorization_endpoint = jwks_client().endpoint("authorization_endpoint")
    except KeysUnavailable as e:
        log.warning("sign-in unavailable: %s", e)
        return _error(request, "The identity provider cannot be reached right now.", 503)
    pending = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),  # RFC 7636 4.1: 43 to 128 characters
        "redirect_uri": request.build_absolute_uri(reverse("rp-callback")),
    }
    request.session[PENDING] = pending
    return redirect(
        _with_query(
            authorization_endpoint,
            {
                "response_type": "code",
                "client_id": settings.RESOURCE_CLIENT_ID,
                "redirect_uri": pending["redirect_uri"],
                "scope": settings.RESOURCE_LOGIN_SCOPES,
                "state": pending["state"],
                "nonce": pending["nonce"],
                "code_challenge": _pkce_challenge(pending["verifier"]),
                "code_challenge_method": "S256",
            },
        )
    )


def _check_response(params, pending, *, iss_required):
    # RFC 6749 10.12: the state must be the one this browser sent; anything else is forged or stale.
    state = params.get("state", "")
    if not hmac.compare_digest(state.encode(), pending["state"].encode()):
        raise LoginFailed("The sign-in response does not belong to this browser (state mismatch).")
    # RFC 9207 2.4: a response naming another issuer (or none, when the provider promises one) may be
    # a mix-up attack.
    if params.get("iss", None if iss_required else settings.RESOURCE_ISSUER) != settings.RESOURCE_ISSUER:
        raise LoginFailed("The sign-in response comes from another issuer.")
    if "error" in params:
        raise LoginFailed(f"The provider refused the sign-in: {params['error'][:100]}.")
    if not params.get("code"):
        raise LoginFailed("The sign-in response has no authorization code.")
    return params["code"]


def _exchange(code, pending):
    """RFC 6749 4.1.3 + RFC 7636 4.5: the code, for tokens."""
    client = jwks_client()
    try:
        response = requests.post(
            client.endpoint("token_endpoint", backchannel=True),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": pending["redirect_uri"],
                "code_verifier": pending["verifier"],
            },
            auth=(quote_plus(settings.RESOURCE_CLIENT_ID), quote_plus(settings.RESOURCE_CLIENT_SECRET)),
            timeout=settings.RESOURCE_HTTP_TIMEOUT,
        )
    except (requests.RequestException, KeysUnavailable) as e:
        log.warning("token request failed: %s", e)
        raise LoginFailed("The identity provider cannot be reached right now.", status=502) from e
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise LoginFailed("The token endpoint did not answer with JSON.", status=502)
    if response.status_code != 200:
        error = str(body.get("error", "unknown_error"))[:100]
        raise LoginFailed(f"The token endpoint refused the code: {error}.", status=502)
    if str(body.get("token_type", "")).lower() != "bearer" or not body.get("id_token"):
        raise LoginFailed("The token response lacks a Bearer access token or an ID token.", status=502)
    return body


@never_cache
@require_GET
def callback(request):
    """The redirect URI: check the response, exchange the code, verify the ID token, sign in."""
    # One use only: a replayed or forged callback finds nothing to complete.
    pending = request.session.pop(PENDING, None)
    if pending is None:
        return _error(request, "No sign-in is in progress in this browser. Start again.", 400)
    try:
        iss_required = jwks_client().metadata().get("authorization_response_iss_parameter_supported") is True
        code = _check_response(request.GET, pending, iss_required=iss_required)
        body = _exchange(code, pending)
        claims = tokens.id_token_verify(
            body["id_token"],
            keys=jwks_client(),
            issuer=settings.RESOURCE_ISSUER,
            client_id=settings.RESOURCE_CLIENT_ID,
            nonce=pending["nonce"],
            algorithms=jwks_client().accepted_algorithms(settings.RESOURCE_ALGORITHMS),
            access_token=body.get("access_token"),
            leeway=settings.RESOURCE_LEEWAY_SECONDS,
        )
    except tokens.InvalidToken as e:
        return _error(request, f"The ID token was rejected: {e}.", 400)
    except KeysUnavailable:
        return _error(request, "The identity provider's keys cannot be fetched right now.", 502)
    except LoginFailed as e:
        return _error(request, str(e), e.status)
    # A new session id at sign-in, so an id planted before it is worthless (session fixation).
    request.session.cycle_key()
    request.session[SIGNED_IN] = {
        "claims": claims,
        "id_token": body["id_token"],
        "access_token": body.get("access_token"),
        "scope": body.get("scope", ""),
        "expires_at": time.time() + int(body.get("expires_in") or 0),
    }
    # So that a back-channel logout token naming this sign-in's sid (or sub) can end this session.
    backchannel.session_record(request.session.session_key, claims)
    return redirect("rp-home")


@never_cache
@require_POST
def logout(request):
    """Forget the tokens here, then end the provider session (OIDC RP-Initiated Logout 1.0)."""
    signed_in = request.session.get(SIGNED_IN)
    request.session.flush()
    if not signed_in:
        return redirect("rp-home")
    try:
        end_session = jwks_client().endpoint("end_session_endpoint")
    except KeysUnavailable:
        return redirect("rp-home")
    return redirect(
        _with_query(
            end_session,
            {
                "id_token_hint": signed_in["id_token"],
                "client_id": settings.RESOURCE_CLIENT_ID,
                "post_logout_redirect_uri": request.build_absolute_uri(reverse("rp-home")),
            },
        )
    )
