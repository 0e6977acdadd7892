"""The lean lane: machine endpoints skip the middleware only browser pages need.

Token, introspection, revocation, userinfo, JWKS and discovery are called by programs with no cookies,
no session, no CSRF token and no signed-in user, and they answer JSON nobody frames or renders. For
them LeanLaneMiddleware (second in MIDDLEWARE, after the request log) resolves the URL and calls the
view itself, inside the short chain settings.SIGNET_LEAN_MIDDLEWARE (security headers, rate limit,
lockout answer); every other request continues down MIDDLEWARE as before.

The endpoints are chosen by URL name after resolving, not by path: whichever view answers a name
(Signet's own or a DOT class) takes the lane, and a path moved in urls.py keeps it.
"""

from asgiref.sync import iscoroutinefunction
from axes.helpers import get_lockout_response
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.db import connections
from django.urls import Resolver404, get_resolver
from django.utils.module_loading import import_string

LEAN_VIEWS = frozenset(
    {
        "oauth2_provider:token",
        "oauth2_provider:device-authorization",
        "oauth2_provider:introspect",
        "oauth2_provider:revoke-token",
        "oauth2_provider:register",
        "oauth2_provider:register-client",
        "oauth2_provider:user-info",
        "oauth2_provider:jwks-info",
        "oauth2_provider:oidc-connect-discovery-info",
        "oauth2_provider:oauth-server-metadata",
        "metrics",
    }
)


# Only lean paths are kept, so this bounds nothing but URLconfs swapped by tests.
MAX_KEPT_MATCHES = 64


class LeanLaneMiddleware:
    """Answers a machine endpoint through the lean chain; passes every other request down MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._matches = {}
        self.view_hooks, self.exception_hooks, self.template_hooks = [], [], []
        handler = convert_exception_to_response(self._call_view)
        for path in reversed(settings.SIGNET_LEAN_MIDDLEWARE):
            try:
                step = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            # The same hooks, in the same order, as Django's handler gives the full chain.
            if hasattr(step, "process_view"):
                self.view_hooks.insert(0, step.process_view)
            if hasattr(step, "process_exception"):
                self.exception_hooks.append(step.process_exception)
            if hasattr(step, "process_template_response"):
                self.template_hooks.append(step.process_template_response)
            handler = convert_exception_to_response(step)
        self.lean = convert_exception_to_response(_common(handler))

    def __call__(self, request):
        match = self._lean_match(request)
        if match is None:
            return self.get_response(request)
        request.resolver_match = match
        return self.lean(request)

    def _lean_match(self, request):
        if hasattr(request, "urlconf"):
            return None  # a per-request URLconf: leave resolving to Django
        resolver = get_resolver()
        # The machine endpoints' paths take no arguments, so one path always resolves to the same
        # match: kept per URLconf (a few entries, one per lean path), it spares resolving each time.
        match = self._matches.get((resolver, request.path_info))
        if match is None:
            try:
                match = resolver.resolve(request.path_info)
            except Resolver404:
                return None  # the 404 page, and APPEND_SLASH, belong to the full chain
            if match.view_name not in LEAN_VIEWS or iscoroutinefunction(match.func):
                return None
            if not match.args and not match.kwargs and len(self._matches) < MAX_KEPT_MATCHES:
                self._matches[(resolver, request.path_info)] = match
        if any(db.get("ATOMIC_REQUESTS") for db in connections.settings.values()):
            return None  # the handler wraps views in transactions; the lane does not
        return match

    def _call_view(self, request):
        """What Django's handler does between resolving and answering, for one resolved view."""
        match = request.resolver_match
        for hook in self.view_hooks:
            response = hook(request, match.func, match.args, match.kwargs)
            if response is not None:
                return response
        try:
            response = match.func(request, *match.args, **match.kwargs)
        except Exception as e:
            response = self._answer_exception(request, e)
        if response is None:
            raise ValueError(f"The view {match.view_name} returned None instead of a response.")
        if callable(getattr(response, "render", None)):
            for hook in self.template_hooks:
                response = hook(request, response)
            try:
                response = response.render()
            except Exception as e:
                response = self._answer_exception(request, e)
        return response

    def _answer_exception(self, request, exception):
        for hook in self.exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response
        raise exception


def _common(get_response):
    """The part of CommonMiddleware a JSON API needs, outermost on the lane."""

    def common(request):
        # DisallowedHost (a 400) for a Host outside ALLOWED_HOSTS, before any step runs: on the full
        # chain CommonMiddleware asks for the host, and on the lane nothing else might.
        request.get_host()
        response = get_response(request)
        # Without it the server would send the small JSON bodies chunked.
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    return common


class LockoutAnswerMiddleware:
    """The lockout answer for a view that handed the request itself to authenticate().

    django-axes flags such a request (axes_locked_out) and leaves the answer to its middleware, which
    is on the full chain only; this gives it the same answer (settings.AXES_LOCKOUT_CALLABLE).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.AXES_ENABLED and getattr(request, "axes_locked_out", False):
            response = get_lockout_response(request, response, getattr(request, "axes_credentials", None))
        return response
