"""Token, revocation and introspection endpoints: DOT's views with Signet's transaction and errors.

Thin: the rules live in token_grants.py (through the validator) and introspection.py.
"""

from django.db import transaction
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as dot_views

from . import client_auth
from .introspection import client_authenticate, token_introspect

# RFC 6749 5.2: a 401 invalid_client carries a challenge for the scheme the client should use.
CLIENT_CHALLENGE = 'Basic realm="Signet token endpoint", charset="UTF-8"'


def _with_client_challenge(response):
    if response.status_code == 401:
        response["WWW-Authenticate"] = CLIENT_CHALLENGE
    return response


def invalid_client_response():
    response = JsonResponse(
        {"error": "invalid_client", "error_description": "Client authentication failed."}, status=401
    )
    response["Cache-Control"] = "no-store"
    return _with_client_challenge(response)


class TokenView(dot_views.TokenView):
    """/token, each request in one transaction.

    The rules lock the authorization code or refresh token they consume (select_for_update); the
    transaction keeps that lock until the new tokens are stored, so of N simultaneous requests
    with one code or refresh token exactly one wins.
    """

    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            response = super().post(request, *args, **kwargs)
        return _with_client_challenge(response)


class RevokeView(dot_views.RevokeTokenView):
    """/revoke (RFC 7009)."""

    def post(self, request, *args, **kwargs):
        return _with_client_challenge(super().post(request, *args, **kwargs))


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class IntrospectView(View):
    """/introspect (RFC 7662): POST only, client authentication required."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        presented = client_auth.presented_credentials(
            authorization=request.headers.get("Authorization"),
            body_client_id=request.POST.get("client_id"),
            body_client_secret=request.POST.get("client_secret"),
        )
        client = client_authenticate(presented=presented) if presented else None
        if client is None:
            return invalid_client_response()
        token = request.POST.get("token")
        if not token:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "The token parameter is missing."},
                status=400,
            )
        answer = token_introspect(
            token=token, client=client, token_type_hint=request.POST.get("token_type_hint")
        )
        response = JsonResponse(answer, json_dumps_params={"separators": (",", ":")})
        return response
