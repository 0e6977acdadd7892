"""Passkey endpoints: JSON for the WebAuthn ceremonies (static/accounts/passkeys.js), forms to rename
and remove. Thin: parse, call one service in accounts/passkeys.py, answer.

Every JSON endpoint takes POST only, checks CSRF from the X-CSRFToken header, and answers errors as
{"error": code, "message": text} with a 4xx status, whatever the body sent.
"""

import functools

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect, JsonResponse, RawPostDataException
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from provider import untrusted_json

from .authn_views import require_recent_auth
from .passkey_errors import PasskeyError


class _Passkeys:
    """accounts/passkeys.py, imported on a worker's first passkey request rather than with the URLconf:
    py_webauthn (with pyOpenSSL and cbor2) adds about 5 MB to every worker, and a worker that serves
    only the token endpoints never needs it (bench/README.md, scenario 9)."""

    def __getattr__(self, name):
        from . import passkeys as module

        return getattr(module, name)


passkeys = _Passkeys()

# WebAuthn responses are a few kilobytes; an attestation with a certificate chain stays well below.
MAX_BODY_LENGTH = 64 * 1024


def _error(error, message, status):
    response = JsonResponse({"error": error, "message": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _csrf_refusal(request):
    """Django's CSRF check, answered here as JSON rather than with its HTML page."""
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})


def json_endpoint(view):
    """POST only, CSRF checked, the body a JSON object passed as `body`; PasskeyError → its JSON error."""

    @csrf_exempt
    @never_cache
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            response = _error("method_not_allowed", _("Use POST."), 405)
            response["Allow"] = "POST"
            return response
        # Read first: Django's CSRF check may parse a form body, after which the raw body is gone.
        try:
            raw = request.body
        except RawPostDataException:
            # A multipart body a middleware already parsed as a form: not the JSON these take.
            return _error("invalid_request", _("The request is not valid JSON."), 400)
        if _csrf_refusal(request) is not None:
            return _error("csrf_failed", _("Your session has expired. Reload the page and try again."), 403)
        try:
            body = untrusted_json.loads(raw or b"{}", max_length=MAX_BODY_LENGTH)
        except ValueError:
            return _error("invalid_request", _("The request is not valid JSON."), 400)
        if not isinstance(body, dict):
            return _error("invalid_request", _("The request must be a JSON object."), 400)
        try:
            return view(request, body, *args, **kwargs)
        except PasskeyError as e:
            return _error(e.error, e.message, e.status)

    return wrapper


def _credential(body):
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise PasskeyError("invalid_request", _("The passkey's answer is missing."))
    return credential


def _signed_in(view):
    """A JSON endpoint for a signed-in user: 403 JSON otherwise (require_recent_auth would redirect)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            raise PasskeyError("login_required", _("Sign in first."), status=403)
        return view(request, *args, **kwargs)

    return guarded


def _next_url(request, body):
    """Where to go after signing in: a `next` on this site, else the account page."""
    candidate = body.get("next")
    if isinstance(candidate, str) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@json_endpoint
@_signed_in
@require_recent_auth
def register_options(request, body):
    return JsonResponse(passkeys.passkey_registration_options(request=request, user=request.user))


@json_endpoint
@_signed_in
@require_recent_auth
def register(request, body):
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    passkey = passkeys.passkey_register(
        request=request, user=request.user, credential=_credential(body), name=name
    )
    messages.success(request, _("Your passkey “%(name)s” is ready.") % {"name": passkey.name})
    return JsonResponse({"passkey": {"id": passkey.pk, "name": passkey.name}}, status=201)


@json_endpoint
def sign_in_options(request, body):
    return JsonResponse(passkeys.passkey_authentication_options(request=request, purpose=passkeys.SIGN_IN))


@json_endpoint
def sign_in(request, body):
    passkeys.passkey_sign_in(request=request, credential=_credential(body))
    return JsonResponse({"redirect": _next_url(request, body)})


@json_endpoint
def verify_options(request, body):
    user = passkeys.verify_options_user(request)
    # The page asks for it when the relying party wants acr "phr" (the second-step page's passkey_only).
    require_uv = body.get("userVerification") == "required"
    return JsonResponse(
        passkeys.passkey_authentication_options(
            request=request, purpose=passkeys.VERIFY, user=user, require_uv=require_uv
        )
    )


@json_endpoint
def verify(request, body):
    passkeys.passkey_verify(request=request, credential=_credential(body))
    return JsonResponse({"redirect": _next_url(request, body)})


@require_POST
@never_cache
@require_recent_auth
def rename(request, pk):
    try:
        passkey = passkeys.passkey_rename(user=request.user, passkey_id=pk, name=request.POST.get("name", ""))
        messages.success(request, _("The passkey is now called “%(name)s”.") % {"name": passkey.name})
    except PasskeyError as e:
        messages.error(request, e.message)
    return HttpResponseRedirect(reverse("accounts:security") + "#passkeys")


@require_POST
@never_cache
@require_recent_auth
def remove(request, pk):
    try:
        passkeys.passkey_remove(user=request.user, passkey_id=pk)
        messages.success(request, _("The passkey was removed: it no longer signs you in."))
    except PasskeyError as e:
        messages.error(request, e.message)
    return HttpResponseRedirect(reverse("accounts:security") + "#passkeys")
