"""RP-Initiated Logout 1.0 at /logout: DOT's view, with Signet's ID token verification and pages."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidRequestFatalError,
)
from oauth2_provider.models import get_application_model

from accounts.sessions import session_sid

from .authorization import InvalidHint, id_token_hint_claims
from .views import readable_problem, redirect_post_as_get

# The confirmation form carries this field; any other POST to /logout is a logout request.
CONFIRM_FORM_FIELD = "signet_logout"


@dataclass(frozen=True)
class VerifiedHint:
    """What DOT's logout view needs to know of an id_token_hint: its client, its user, its session."""

    application: object
    user: object
    sid: str | None


def _audiences(claims):
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []


@method_decorator(never_cache, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")  # CSRF is enforced in dispatch, for the confirmation form
class LogoutView(dot_views.RPInitiatedLogoutView):
    """Log out, then return to a registered post_logout_redirect_uri with state, or show a page.

    Without a verified id_token_hint of this session's user the user is asked first (RP-Initiated
    Logout 2); an unregistered URI is never redirected to, whatever else the request holds.
    """

    template_name = "oauth2_provider/logout_confirm.html"
    http_method_names = ["get", "post", "head", "options"]  # FormView would take PUT for POST

    def dispatch(self, request, *args, **kwargs):
        self.hint = None
        problem = readable_problem(request)
        if problem is not None:
            return self.error_response(InvalidRequestFatalError(description=problem))
        if request.method == "POST" and CONFIRM_FORM_FIELD not in request.POST:
            # RP-Initiated Logout 2: the RP may POST its request; it is answered as the same GET.
            return redirect_post_as_get(request)
        if request.method == "POST":
            return csrf_protect(super().dispatch)(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def validate_logout_request_user(self, id_token_hint, client_id):
        """Verify the hint like /authorize does: any published key (a retired one too), expired
        allowed, `iss` ours. DOT instead looks the token up in its IDToken table, which a purge
        of expired tokens empties."""
        if not id_token_hint:
            return None
        try:
            claims = id_token_hint_claims(id_token_hint)
        except InvalidHint as e:
            raise InvalidIDTokenError() from e
        audiences = _audiences(claims)
        if client_id and client_id not in audiences:
            raise ClientIdMissmatch()
        wanted = client_id or claims.get("azp") or (audiences[0] if audiences else None)
        application = get_application_model().objects.filter(client_id=wanted).first() if wanted else None
        if application is None:
            raise InvalidIDTokenError()
        try:
            user = get_user_model().objects.filter(pk=claims["sub"]).first()
        except (ValidationError, ValueError):
            user = None
        self.hint = VerifiedHint(application=application, user=user, sid=claims.get("sid"))
        return self.hint

    def get_request_application(self, id_token, client_id):
        if client_id:
            # PostgreSQL refuses NUL in a lookup (a 500); no client id contains one.
            application = None
            if "\x00" not in client_id:
                application = get_application_model().objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token is not None else None

    def must_prompt(self, token_user):
        if super().must_prompt(token_user):
            return True
        # RP-Initiated Logout 2: ask when the hint does not belong to *the current* OP session.
        return (
            self.request.user.is_authenticated
            and self.hint is not None
            and self.hint.sid is not None
            and self.hint.sid != session_sid(self.request)
        )

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        response = super().do_logout(application, post_logout_redirect_uri, state, token_user)
        if post_logout_redirect_uri:
            return response
        # No relying party to return to: say so here rather than redirect to a page that is not ours.
        return render(self.request, "oauth2_provider/logged_out.html")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["confirm_form_field"] = CONFIRM_FORM_FIELD
        return context
