"""What every form-POST machine endpoint does before and around its own work.

POST only, no CSRF (the caller is a client, not a browser), the body checked before anything reads it
(params.form_problem), and an OAuthError raised anywhere in the view answered as RFC 6749 5.2 JSON.

The token endpoint is the hot path (bench/README.md), so the check and the answer live in the one
layer that also stands in for csrf_exempt's pass-through wrapper: a request goes through as many
function layers as when each endpoint stacked Django's decorators and checked the form itself.
"""

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from ..errors import OAuthError, error_response, invalid_request
from ..params import form_problem

# What error reports (Django's SafeExceptionReporterFilter) hide of introspection and revocation
# requests: the token asked about, and the client's own credentials.
_SENSITIVE = ("token", "client_secret", "client_assertion")


def form_endpoint(view):
    """Introspection and revocation: `view` returns its response, or raises OAuthError.

    Never cached, on every answer (the 405 and errors included).
    """

    @wraps(view)
    def checked(request):
        problem = form_problem(request)
        if problem is not None:
            return error_response(invalid_request(problem))
        try:
            return view(request)
        except OAuthError as error:
            return error_response(error)

    return _exempt(no_store(require_POST(sensitive_post_parameters(*_SENSITIVE)(checked))))


def credential_endpoint(*sensitive):
    """The token and device authorization endpoints: `view` returns the JSON body of a response that
    carries a credential, or raises OAuthError. `sensitive`: the POST parameters error reports hide.
    """

    def decorate(view):
        @wraps(view)
        def answered(request):
            problem = form_problem(request)
            if problem is not None:
                return error_response(invalid_request(problem))
            try:
                body = view(request)
            except OAuthError as error:
                return error_response(error)
            response = JsonResponse(body)
            # RFC 6749 5.1: tokens are never cached; a device code is as much a credential.
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
            return response

        return _exempt(require_POST(sensitive_post_parameters(*sensitive)(answered)))

    return decorate


def no_store(view):
    """Every answer of `view` marked never to be stored (RFC 9111 5.2.2.5).

    What never_cache means for a client, without its cost on these hot paths: it also computes an
    Expires date and merges Cache-Control directives, a twentieth of userinfo's time in process.
    """

    @wraps(view)
    def answered(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    return answered


def _exempt(view):
    # What csrf_exempt marks, without its extra wrapper around the view.
    view.csrf_exempt = True
    return view
