"""Token, revocation and introspection endpoints: DOT's views with Signet's transaction and errors.

Thin: the rules live in token_grants.py (through the validator) and introspection.py.
"""

from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider import views as dot_views
from oauth2_provider.signals import app_authorized

from . import client_auth
from .introspection import client_authenticate, token_introspect
from .params import request_encoding_problem
from .token_grants import issued_access_token

# RFC 6749 5.2: a 401 invalid_client carries a challenge for the scheme the client should use.
CLIENT_CHALLENGE = 'Basic realm="Signet token endpoint", charset="UTF-8"'


def _with_client_challenge(response):
    if response.status_code == 401:
        response["WWW-Authenticate"] = CLIENT_CHALLENGE
    return response


def _error(error, description, status=400):
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


# RFC 8707 2: the one parameter a client may repeat.
REPEATABLE = frozenset({"resource"})


def body_problem(request):
    """An RFC 6749 5.2 invalid_request response for a body the endpoint must not act on, else None.

    RFC 6749 3.2 and RFC 7009/7662: parameters come form-urlencoded, and decode exactly (params.py);
    RFC 6749 3.1: none may repeat. Checked before DOT reads the body, whose parsers would answer an
    HTML 400 or keep the last value.
    """
    try:
        if request.body and request.content_type != "application/x-www-form-urlencoded":
            return _error("invalid_request", "The body must be application/x-www-form-urlencoded.")
        encoding = request_encoding_problem(request)
        if encoding is not None:
            return _error("invalid_request", encoding)
        fields = request.POST.lists()
    except (MultiPartParserError, SuspiciousOperation, ValueError):
        return _error("invalid_request", "The body could not be read.")
    repeated = sorted(name for name, values in fields if len(values) > 1 and name not in REPEATABLE)
    if repeated:
        return _error("invalid_request", f"Repeated parameter: {repeated[0]}.")
    return None


def invalid_client_response():
    return _with_client_challenge(_error("invalid_client", "Client authentication failed.", status=401))


class TokenView(dot_views.TokenView):
    """/token, each request in one transaction.

    The rules lock the authorization code or refresh token they consume (select_for_update); the
    transaction keeps that lock until the new tokens are stored, so of N simultaneous requests
    with one code or refresh token exactly one wins. client_credentials locks nothing and writes
    one row, so it runs in autocommit: no BEGIN and COMMIT on the busiest grant.
    """

    def post(self, request, *args, **kwargs):
        problem = body_problem(request)
        if problem is not None:
            return problem
        reset = issued_access_token.set(None)
        try:
            if request.POST.get("grant_type") == "client_credentials":
                response = super().post(request, *args, **kwargs)
            else:
                with transaction.atomic():
                    response = super().post(request, *args, **kwargs)
            access_token = issued_access_token.get()
        finally:
            issued_access_token.reset(reset)
        if response.status_code == 200 and access_token is not None:
            # After the commit, so only stored tokens are reported, and the audit row the receiver
            # writes is one INSERT in autocommit rather than a savepoint inside the transaction.
            app_authorized.send(sender=self, request=request, token=access_token)
        return _with_client_challenge(response)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, minus reading the new access token back by checksum to signal it: post() does."""
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


class RevokeView(dot_views.RevokeTokenView):
    """/revoke (RFC 7009)."""

    def post(self, request, *args, **kwargs):
        return body_problem(request) or _with_client_challenge(super().post(request, *args, **kwargs))


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class IntrospectView(View):
    """/introspect (RFC 7662): POST only, client authentication required."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        problem = body_problem(request)
        if problem is not None:
            return problem
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
            return _error("invalid_request", "The token parameter is missing.")
        answer = token_introspect(
            token=token, client=client, token_type_hint=request.POST.get("token_type_hint")
        )
        response = JsonResponse(answer, json_dumps_params={"separators": (",", ":")})
        return response
