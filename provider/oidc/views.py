"""The authorization endpoint (consent, the access-refused page) and the consents account page. Thin: rules
live elsewhere."""

from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import TemplateView
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors

from accounts import authn
from accounts.sessions import session_auth_time, session_sid
from provider import untrusted_json

from . import access_policy, client_cache, metadata_documents
from .authorization import (
    BROWSER_SESSION,
    ENROL,
    UNMET,
    InteractionRequired,
    UnmetAuthenticationRequirements,
    authentication_step,
    browser_session,
    consent_scopes,
    parse_max_age,
    prompt_values,
    reauthentication_required,
)
from .consent import consent_covers, consent_record, consent_revoke, consents_of
from .params import request_encoding_problem

# The consent form carries this field; any other POST to /authorize is an authorization request.
CONSENT_FORM_FIELD = "signet_consent"
# ... and, signed, the scopes its page showed: approving it approves those, not what the client may
# have been allowed meanwhile.
CONSENT_SHOWN_FIELD = "signet_consent_shown"
CONSENT_SHOWN_SALT = "signet.oidc.consent-shown"

# oauthlib raises these without a description; the relying party's developer deserves one. English
# whatever the page's language: RFC 6749 4.1.2.1 allows only ASCII in error_description.
ERROR_DESCRIPTIONS = {
    "login_required": "The user must sign in (no session, or it does not satisfy this request).",
    "consent_required": "The user has not yet allowed this client these scopes.",
    "access_denied": "The user denied the request.",
    "interaction_required": "The user must complete a second sign-in step (prompt=none forbids it).",
    "unmet_authentication_requirements": "The user cannot reach the essential authentication context.",
}


def readable_problem(request):
    """Why a browser request's parameters cannot be read exactly (params.py), or None."""
    try:
        return request_encoding_problem(request)
    except (SuspiciousOperation, ValueError):
        return gettext("The request could not be read.")


def redirect_post_as_get(request):
    """303 a form-encoded POST to the same URL with its parameters in the query (repeats kept).

    OIDC Core 3.1.2.1 and RP-Initiated Logout 2 require POST support. Answering it as the GET it
    is equivalent to keeps one code path, and the login page's `next` (a URL) can carry it. It also
    brings the session cookie back: a cross-site POST does not send a SameSite=Lax cookie, the
    top-level GET it is redirected to does.
    """
    params = list(request.GET.lists()) + list(request.POST.lists())
    query = urlencode([(k, v) for k, values in params for v in values])
    response = HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
    response.status_code = 303
    return response


class BrowserSessionOAuthLibCore(OAuthLibCore):
    """DOT's oauthlib adapter, handing the browser session to the validator (see authorization.py)."""

    def extract_headers(self, request):
        headers = super().extract_headers(request)
        headers[BROWSER_SESSION] = browser_session(request)
        return headers


@method_decorator(never_cache, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")  # CSRF is enforced in dispatch, for the consent form
class AuthorizeView(dot_views.AuthorizationView):
    """DOT's authorization endpoint with prompt, max_age, remembered consent and session auth_time."""

    template_name = "oidc/consent.html"
    oauthlib_backend_class = BrowserSessionOAuthLibCore
    # FormView would treat PUT as POST and render the consent page for an empty form (a 500).
    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        problem = readable_problem(request)
        if problem is not None:
            # Parameters that cannot be read exactly name no trustworthy redirect_uri: a page, not a redirect.
            error = errors.InvalidRequestError(description=problem)
            return self.render_to_response({"error": error}, status=error.status_code)
        if request.method == "POST" and CONSENT_FORM_FIELD not in request.POST:
            return redirect_post_as_get(request)
        if request.method == "POST":
            return csrf_protect(super().dispatch)(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    # --- before DOT: validation first, then login when the session cannot stand -----------------
    def handle_no_permission(self):
        """No session: show the login page only for a valid request (prompt=none fails validation)."""
        if self.request.method == "POST":
            # The session ended while the consent page was open: sign in, then see the page again.
            return redirect_to_login(
                self.request.get_full_path(),
                resolve_url(self.get_login_url()),
                self.get_redirect_field_name(),
            )
        try:
            _scopes, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        return self._log_in_then_continue(credentials)

    def validate_authorization_request(self, request):
        """Validated once per request: get() asks first (for prompt and max_age), and DOT's get()
        asks again before it renders the consent page or answers from remembered consent."""
        validated = getattr(self, "signet_validated", None)
        if validated is not None and validated[0] is request:
            return validated[1]
        result = super().validate_authorization_request(request)
        self.signet_validated = (request, result)
        return result

    def get(self, request, *args, **kwargs):
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        if reauthentication_required(
            prompt=request.GET.get("prompt"),
            max_age=parse_max_age(request.GET.get("max_age")),
            auth_time=session_auth_time(request),
        ):
            return self._log_in_then_continue(credentials)
        refused = self._access_refused(credentials)
        if refused is not None:
            return refused
        owed = self._second_factor_owed(credentials)
        if owed is not None:
            return owed
        if "approval_prompt" in request.GET:
            # DOT's approval_prompt=auto approves whenever a live token covers the scopes, which
            # would bypass prompt=consent; Signet remembers consent in its Consent table only.
            # (oauthlib reads the raw query string, not request.GET: the request itself is unchanged.)
            request.GET = request.GET.copy()
            del request.GET["approval_prompt"]
        return super().get(request, *args, **kwargs)

    def _access_refused(self, credentials):
        """Signet's own page when the signed-in user is outside the client's allowed groups, else None.

        The relying party learns of it (access_denied) only when the user goes back to it; under
        prompt=none, which allows no page (OIDC Core 3.1.2.1), at once.
        """
        client = client_cache.client_get(credentials.get("client_id"))
        if client is None or access_policy.user_may_use(client, self.request.user):
            return None
        if "none" in prompt_values(self.request.GET.get("prompt")):
            return self._error(
                partial(errors.AccessDeniedError, description=access_policy.NOT_ALLOWED), credentials
            )
        # The consent form's hidden fields: "Go back" posts them as a Deny, which DOT answers with
        # access_denied, state and iss at the registered redirect_uri.
        scopes, _credentials = self.validate_authorization_request(self.request)  # validated once, kept
        self.oauth2_data = {**credentials, "scope": scopes}
        context = {
            **access_policy.refusal_context(client),
            "form": self.get_form(),
            "consent_form_field": CONSENT_FORM_FIELD,
        }
        return TemplateResponse(self.request, "oidc/access_denied.html", context, status=403)

    def _authentication_step(self, client_id, claims, acr_values=None):
        client = get_application_model().objects.filter(client_id=client_id).first()
        return authentication_step(
            user=self.request.user,
            methods=authn.session_methods(self.request),
            client=client,
            acr_values=acr_values,
            claims_request=_json_or_none(claims),
        )

    def _second_factor_owed(self, credentials):
        """A step-up, an enrolment or an error when the session's acr is below what this request needs.

        The MFA policy and an essential acr are required: prompt=none then answers interaction_required
        (OIDC Core 3.1.2.6). acr_values alone are voluntary: prompt=none goes on without the step.
        """
        step = self._authentication_step(
            credentials.get("client_id"), self.request.GET.get("claims"), self.request.GET.get("acr_values")
        )
        if step is None:
            return None
        if step.action == UNMET:
            return self._error(UnmetAuthenticationRequirements, credentials)
        if "none" in prompt_values(self.request.GET.get("prompt")):
            return self._error(InteractionRequired, credentials) if step.required else None
        here = self.request.get_full_path()
        if step.action == ENROL:
            return HttpResponseRedirect(reverse("accounts:mfa_setup") + "?" + urlencode({"next": here}))
        query = {"next": here}
        if step.acr == authn.ACR_PHISHING_RESISTANT:
            query["acr"] = step.acr
        return HttpResponseRedirect(reverse("accounts:login_verify") + "?" + urlencode(query))

    def handle_prompt_login(self):
        # DOT calls this for prompt=login; get() above has already handled it, this is a safety net.
        return self._log_in_then_continue(None)

    def _log_in_then_continue(self, credentials):
        """Redirect to the login page; `next` is this request without what a fresh login satisfies.

        prompt=login / select_account and max_age are consumed by logging in now, so they are
        dropped from `next` (otherwise max_age=0 or prompt=login would send the user back forever).
        """
        if "none" in prompt_values(self.request.GET.get("prompt")) and credentials is not None:
            # OIDC Core 3.1.2.1: never show UI under prompt=none (oauthlib checks only openid requests).
            return self._error(errors.LoginRequired, credentials)
        query = []
        for key, value in parse_qsl(self.request.META.get("QUERY_STRING", ""), keep_blank_values=True):
            if key == "max_age":
                continue
            if key == "prompt":
                value = " ".join(p for p in value.split() if p not in ("login", "select_account"))
                if not value:
                    continue
            query.append((key, value))
        next_url = self.request.path + ("?" + urlencode(query) if query else "")
        return redirect_to_login(next_url, resolve_url(self.get_login_url()), self.get_redirect_field_name())

    # --- the consent step DOT is about to render ----------------------------------------------
    def render_to_response(self, context, **response_kwargs):
        if self.request.method == "GET" and "form" in context and "error" not in context:
            answered = self._answer_without_page(context)
            if answered is not None:
                return answered
        return super().render_to_response(context, **response_kwargs)

    def _answer_without_page(self, context):
        """Approve from remembered consent, or refuse under prompt=none; None shows the page."""
        client = context["application"]
        initial = context["form"].initial
        prompt = prompt_values(self.request.GET.get("prompt"))
        wanted = consent_scopes(context["scopes"], _json_or_none(initial.get("claims")), client)
        # A metadata document's client is asked about every time: its document, redirect URIs
        # included, may have changed hands since the user last said yes.
        remembered = not client.from_metadata_document and consent_covers(
            user=self.request.user, client=client, scopes=wanted
        )
        if remembered and "consent" not in prompt:
            # Replay the user's earlier "Allow" through DOT's own form path (keeps state, PKCE, resource).
            form = self.get_form_class()(data={**initial, "allow": True})
            if form.is_valid():
                self._remembered = True
                return self.form_valid(form)
        if "none" in prompt:
            return self._error(errors.ConsentRequired, initial)
        return None

    def _error(self, error_class, credentials):
        error = error_class(state=credentials.get("state"))
        error.client_id = credentials.get("client_id")
        if self.request.GET.get("response_mode") == "fragment":
            error.response_mode = "fragment"
        return self.error_response(
            OAuthToolkitError(error=error, redirect_uri=credentials.get("redirect_uri")), application=None
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "application" in context and "scopes" in context:
            wanted = consent_scopes(
                context["scopes"], _json_or_none(context.get("claims")), context["application"]
            )
            context["scope_descriptions"] = [
                description
                for scope, description in settings.SIGNET_SCOPES.items()
                if scope in wanted and scope != "openid"
            ]
            context["consent_shown"] = signing.dumps(sorted(wanted), salt=CONSENT_SHOWN_SALT)
            context["document_host"] = metadata_documents.host_of(context["application"])
        context["consent_form_field"] = CONSENT_FORM_FIELD
        context["consent_shown_field"] = CONSENT_SHOWN_FIELD
        return context

    # --- after the user (or their remembered consent) answered ----------------------------------
    def create_authorization_response(self, request, scopes, credentials, allow):
        # OIDC Core 2: auth_time is when *this browser session* authenticated; sid names it; amr
        # (RFC 8176) says how, and the acr recorded on the code follows from it.
        if allow:
            # get() sent the user through any step owed; a consent form posted without it is refused.
            step = self._authentication_step(credentials.get("client_id"), credentials.get("claims"))
            if step is not None and step.required:
                raise OAuthToolkitError(
                    error=errors.AccessDeniedError(
                        state=credentials.get("state"),
                        description="The sign-in does not meet this client's authentication requirements.",
                    ),
                    redirect_uri=credentials.get("redirect_uri"),
                )
        client = client_cache.client_get(credentials.get("client_id"))
        if client is not None and not access_policy.user_may_use(client, request.user):
            # "Go back" from the refusal page, or a consent form posted by a user outside the groups.
            raise OAuthToolkitError(
                error=errors.AccessDeniedError(
                    state=credentials.get("state"), description=access_policy.NOT_ALLOWED
                ),
                redirect_uri=credentials.get("redirect_uri"),
            )
        credentials = dict(
            credentials,
            auth_time=session_auth_time(request),
            sid=session_sid(request),
            amr=authn.session_methods(request),
        )
        return super().create_authorization_response(request, scopes, credentials, allow)

    def form_valid(self, form):
        refused = self._unregistered_target(form)
        if refused is not None:
            return refused
        response = super().form_valid(form)
        if self._issued_a_code(form, response) and not getattr(self, "_remembered", False):
            client = get_application_model().objects.get(client_id=form.cleaned_data["client_id"])
            wanted = consent_scopes(
                form.cleaned_data["scope"].split(), _json_or_none(form.cleaned_data.get("claims")), client
            )
            consent_record(user=self.request.user, client=client, scopes=wanted & self._scopes_shown())
        return response

    def _scopes_shown(self):
        """The scopes the consent page showed: an operator may have allowed the client more since."""
        try:
            return set(signing.loads(self.request.POST.get(CONSENT_SHOWN_FIELD, ""), salt=CONSENT_SHOWN_SALT))
        except (signing.BadSignature, TypeError):
            return set()

    def _unregistered_target(self, form):
        """The error page when the consent form names an unknown client or an unregistered
        redirect_uri, else None.

        The form's hidden fields come back from the browser and may have been edited. oauthlib
        checks them again on Allow, but Deny redirects straight to the form's redirect_uri:
        RFC 9700 4.11 wants no redirect, not even an error, to a URI the client did not register.
        """
        client = get_application_model().objects.filter(client_id=form.cleaned_data.get("client_id")).first()
        if client is None or not client.is_active:
            error = errors.InvalidClientIdError()
        elif not client.redirect_uri_allowed(form.cleaned_data.get("redirect_uri")):
            error = errors.MismatchingRedirectURIError()
        else:
            return None
        return self.render_to_response({"error": error}, status=error.status_code)

    @staticmethod
    def _issued_a_code(form, response):
        location = urlsplit(response.get("Location", ""))
        params = dict(parse_qsl(location.query)) | dict(parse_qsl(location.fragment))
        return bool(form.cleaned_data.get("allow")) and "code" in params and "error" not in params

    def error_response(self, error, application, **kwargs):
        """Fatal errors (client, redirect_uri) get a page; others redirect with state and iss (RFC 9207)."""
        oauthlib_error = error.oauthlib_error
        if isinstance(error, FatalClientError) or not oauthlib_error.redirect_uri:
            return self.render_to_response({"error": oauthlib_error}, status=oauthlib_error.status_code)
        if application is None:
            application = get_application_model().objects.filter(client_id=oauthlib_error.client_id).first()
        if not oauthlib_error.description:
            oauthlib_error.description = ERROR_DESCRIPTIONS.get(
                oauthlib_error.error, "The authorization request cannot be completed."
            )
        uri = add_params_to_uri(
            oauthlib_error.redirect_uri,
            [*oauthlib_error.twotuples, ("iss", settings.OIDC_ISSUER)],
            fragment=oauthlib_error.response_mode == "fragment",
        )
        return self.redirect(uri, application)


def _json_or_none(value):
    if isinstance(value, dict):
        return value
    if not value:
        return None
    try:
        return untrusted_json.loads(value)
    except (TypeError, ValueError):
        return None


@method_decorator(never_cache, name="dispatch")
class ConsentListView(LoginRequiredMixin, TemplateView):
    """The account page listing the clients a user has allowed, each with a revoke button."""

    template_name = "oidc/consents.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["consents"] = [
            {
                "consent": consent,
                "descriptions": [
                    d
                    for s, d in settings.SIGNET_SCOPES.items()
                    if s in consent.scopes.split() and s != "openid"
                ],
            }
            for consent in consents_of(user=self.request.user)
        ]
        return context

    def post(self, request, *args, **kwargs):
        client = get_object_or_404(get_application_model(), client_id=request.POST.get("client_id", ""))
        consent_revoke(user=request.user, client=client)
        return redirect("oauth2_provider:consents")
