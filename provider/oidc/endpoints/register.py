"""Dynamic client registration (RFC 7591 3) at /register, and its management (RFC 7592 2) at
/register/<client_id>; off unless SIGNET_REGISTRATION says token or open (registration.py has the rules).
"""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from provider import context, ratelimit, untrusted_json
from provider.audit import audit

from .. import registration
from ..errors import bearer_challenge
from ..registration import MAX_BODY, RegistrationError


def _error(error):
    """RFC 7591 3.2.2: 400 with the error as JSON."""
    response = JsonResponse({"error": error.error, "error_description": error.description}, status=400)
    response.signet_oauth_error = error.error  # counted by provider.metrics
    response["Cache-Control"] = "no-store"
    return response


def _ok(body, status=200):
    # RFC 7591 3.2.1: the response carries credentials, so it is never stored.
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _bearer(request):
    """The Bearer token of the Authorization header (RFC 6750 2.1), or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _metadata(request):
    """The request's JSON object, bounded (RFC 7591 3.1 sends it as application/json)."""
    if request.content_type != "application/json":
        raise registration.metadata_error("The request body must be application/json.")
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise registration.metadata_error(f"The metadata is larger than {MAX_BODY} bytes.")
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise registration.metadata_error(f"The metadata is larger than {MAX_BODY} bytes.")
    try:
        metadata = untrusted_json.loads(body, max_length=MAX_BODY)
    except ValueError:
        raise registration.metadata_error("The request body is not valid JSON.") from None
    if not isinstance(metadata, dict):
        raise registration.metadata_error("The request body must be a JSON object.")
    return metadata


def _registration_client_uri(client):
    return settings.OIDC_ISSUER + reverse("oauth2_provider:register-client", args=[client.client_id])


@csrf_exempt
@never_cache
@require_http_methods(["POST"])
def register(request):
    mode = settings.SIGNET_REGISTRATION
    if mode not in ("token", "open"):
        raise Http404
    initial_token = None
    if mode == "token":
        # RFC 7591 3: the initial access token, checked before the body is read.
        initial_token = _bearer(request)
        if not registration.initial_access_token_valid(initial_token):
            return _refused_token(initial_token)
    elif settings.SIGNET_RATELIMIT_REGISTRATION:
        usage = ratelimit.hit(
            group="oauth2_provider:register",
            rate=settings.SIGNET_RATELIMIT_REGISTRATION,
            key=context.limit_key(request) or "unknown",
        )
        if usage is not None and usage.exceeded:
            return ratelimit.too_many_requests(usage.retry_after)
    try:
        client, secret, registration_token = registration.register(
            _metadata(request), mode=mode, initial_access_token=initial_token
        )
    except RegistrationError as error:
        return _error(error)
    except PermissionError:
        return _refused_token(initial_token)
    minted = {}
    if initial_token is not None:
        # The token's row goes at the next purge: the event keeps which minting made this client
        # (registration_token.created names the same token_id).
        minted["token_id"] = registration.initial_access_token_id(initial_token)
    audit("client.registered", client_id=client.client_id, name=client.name, mode=mode, **minted)
    body = registration.client_metadata(client)
    if secret is not None:
        body["client_secret"] = secret
    body["registration_access_token"] = registration_token
    body["registration_client_uri"] = _registration_client_uri(client)
    return _ok(body, status=201)


def _refused_token(token):
    # RFC 6750 3.1: no token at all gets a bare challenge; a wrong, used or expired one invalid_token.
    if not token:
        return bearer_challenge(401)
    return bearer_challenge(401, "invalid_token", "The initial access token is not valid.")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "PUT", "DELETE"])
def register_client(request, client_id):
    if settings.SIGNET_REGISTRATION not in ("token", "open"):
        raise Http404
    token = _bearer(request)
    client = registration.registered_client(client_id, token)
    if client is None:
        # RFC 7592 2: an unknown client and a wrong token get the same 401, so neither is revealed.
        if not token:
            return bearer_challenge(401)
        return bearer_challenge(401, "invalid_token", "The registration access token is not valid.")
    if request.method == "DELETE":
        audit("client.registration_deleted", client_id=client.client_id, name=client.name)
        # Its grants, refresh tokens and consents go with it (ON DELETE CASCADE): its tokens end.
        client.delete()
        return HttpResponse(status=204)
    if request.method == "PUT":
        try:
            changed = registration.update(client, _metadata(request))
        except RegistrationError as error:
            return _error(error)
        audit("client.registration_updated", client_id=client.client_id, fields=changed)
    body = registration.client_metadata(client)
    body["registration_client_uri"] = _registration_client_uri(client)
    return _ok(body)
