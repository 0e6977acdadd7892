"""The authorization endpoint (RFC 6749 4.1, OIDC Core 3.1.2): Signet's own, on one validated request.

A GET (or a POSTed request, answered as the same GET) is read and validated once into an
AuthorizationRequest (authorization_request.py). What follows depends on the browser session, in this
order: prompt=none's silent answers, sign-in (again) when the session cannot stand for the request,
the client's group restriction, a second factor owed, then a code at once (first-party client,
remembered consent) or the consent page. The consent page's POST carries the request back in hidden
fields, validated again as the new request it could be, and answers it with a code or access_denied.
"""

import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from oauth2_provider.models import get_grant_model
from oauth2_provider.settings import oauth2_settings

from accounts import authn, mfa_policy

from .. import access_policy, authorization_request, metadata_documents
from .. import claims as claim_rules
from ..authorization import (
    ENROL,
    UNMET,
    acr_requested,
    authentication_step,
    consent_scopes,
    reauthentication_required,
    requested_sub,
)
from ..authorization_request import AuthorizationError, ConsentForm
from ..consent import consent_covers, consent_record
from ..context import AuthorizationContext
from ..views import readable_problem, redirect_post_as_get

log = logging.getLogger("signet.oidc.authorize")

# The consent form carries this field; any other POST to /authorize is an authorization request.
CONSENT_FORM_FIELD = "signet_consent"
# ... and, signed, the scopes its page showed: approving it approves those, not what the client may
# have been allowed meanwhile.
CONSENT_SHOWN_FIELD = "signet_consent_shown"
CONSENT_SHOWN_SALT = "signet.oidc.consent-shown"

NOT_MET = "The sign-in does not meet this client's authentication requirements."


@method_decorator(never_cache, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")  # CSRF is enforced in post(), for the consent form only
class AuthorizeView(View):
    """/authorize: thin. GET answers a request, POST a consent form (or a posted request)."""

    # HEAD is answered as GET, OPTIONS by Django; anything else (PUT) is 405.
    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        problem = readable_problem(request)
        if problem is not None:
            # Parameters that cannot be read exactly name no trustworthy redirect_uri: a page, not a redirect.
            return error_page(request, AuthorizationError("invalid_request", problem))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        try:
            authz = authorization_request.from_query(request.GET)
            return answer_request(AuthorizationContext.of(request, authz))
        except AuthorizationError as error:
            return error_response(request, error)

    def post(self, request):
        if CONSENT_FORM_FIELD not in request.POST:
            return redirect_post_as_get(request)
        return csrf_protect(answer_consent_form)(request)


# --- the request (GET) ----------------------------------------------------------------------------------
def answer_request(ctx):
    """The response to a validated request, given the browser session."""
    authz, user = ctx.authz, ctx.session.user
    if "none" in authz.prompt:
        # No page may be shown: these two refuse everything a page below would ask about (sign-in,
        # the hinted user, the client's groups, a required step, consent), so what is left is a code.
        refuse_silent_login(ctx)
        refuse_silent_authorization(ctx)
        return issue_code(ctx)
    if user is not None and not must_log_in(ctx):
        require_hinted_user(ctx)
    if user is None or must_log_in(ctx):
        return log_in_then_continue(ctx.http)
    refused = access_refused(ctx)
    if refused is not None:
        return refused
    owed = second_factor_owed(ctx)
    if owed is not None:
        return owed
    if authz.client.skip_authorization:
        # A first-party client: the operator's allowed scopes are the whole answer.
        return issue_code(ctx)
    if remembered_consent(ctx) and "consent" not in authz.prompt:
        return issue_code(ctx)
    return consent_page(ctx)


def must_log_in(ctx):
    """OIDC Core 3.1.2.1: prompt=login / select_account or max_age ask for a fresh sign-in
    (authorization.reauthentication_required)."""
    return reauthentication_required(
        prompt=ctx.authz.prompt - {"none"}, max_age=ctx.authz.max_age, auth_time=ctx.session.auth_time
    )


def refuse_silent_login(ctx):
    # OIDC Core 3.1.2.1 prompt=none: go on only with a session the request accepts as it is.
    authz, user = ctx.authz, ctx.session.user
    if user is None or must_log_in(ctx):
        raise authz.error(
            "login_required", "The user must sign in (no session, or it does not satisfy this request)."
        )
    if not names_session_user(ctx):
        # A hint naming someone else is login_required when no page may be shown.
        raise authz.error("login_required", "Session user does not match client supplied user.")
    # Outside the client's allowed groups: no page may say so, the relying party hears it.
    if not access_policy.user_may_use(authz.client, user):
        raise authz.error("access_denied", access_policy.NOT_ALLOWED)
    # A second step the policy or an essential acr asks for is a page (OIDC Core 3.1.2.6).
    step = session_step(ctx, acr_values=authz.acr_values)
    if step is not None and step.action == UNMET:
        raise unmet(authz)
    if step is not None and step.required:
        raise authz.error(
            "interaction_required", "The user must complete a second sign-in step (prompt=none forbids it)."
        )


def refuse_silent_authorization(ctx):
    # OIDC Core 3.1.2.1 prompt=none: consent must already cover everything asked for.
    client = ctx.authz.client
    if client.skip_authorization and not client.from_metadata_document:
        return
    if not remembered_consent(ctx):
        raise ctx.authz.error("consent_required", "The user has not yet allowed this client these scopes.")


def require_hinted_user(ctx):
    # OIDC Core 3.1.2.1: the user an id_token_hint (or a requested sub) names must be the session's; a
    # request about to make the user sign in again waits for that sign-in ("logged in by the request").
    if not names_session_user(ctx):
        raise ctx.authz.error("login_required", "Session user does not match client supplied user.")


def names_session_user(ctx):
    authz, subject = ctx.authz, str(ctx.session.user.pk)
    if authz.id_token_hint is not None and authz.id_token_hint["sub"] != subject:
        return False
    wanted = requested_sub(authz.claims)
    return wanted is None or wanted == subject


def log_in_then_continue(http):
    """Redirect to the login page; `next` is this request without what a fresh login satisfies.

    prompt=login / select_account and max_age are consumed by logging in now, so they are dropped from
    `next` (otherwise max_age=0 or prompt=login would send the user back forever).
    """
    query = []
    for key, value in parse_qsl(http.META.get("QUERY_STRING", ""), keep_blank_values=True):
        if key == "max_age":
            continue
        if key == "prompt":
            value = " ".join(p for p in value.split() if p not in ("login", "select_account"))
            if not value:
                continue
        query.append((key, value))
    next_url = http.path + ("?" + urlencode(query) if query else "")
    return redirect_to_login(next_url, resolve_url(settings.LOGIN_URL), "next")


def access_refused(ctx):
    """Signet's own page when the signed-in user is outside the client's allowed groups, else None.

    The relying party learns of it (access_denied) only when the user goes back to it ("Go back"
    posts the consent form as a Deny); under prompt=none refuse_silent_login answered already.
    """
    if access_policy.user_may_use(ctx.authz.client, ctx.session.user):
        return None
    context = {
        **access_policy.refusal_context(ctx.authz.client),
        "form": ConsentForm.of(ctx.authz),
        "consent_form_field": CONSENT_FORM_FIELD,
    }
    return TemplateResponse(ctx.http, "oidc/access_denied.html", context, status=403)


def session_step(ctx, *, acr_values=None):
    return authentication_step(
        user=ctx.session.user,
        methods=ctx.session.methods,
        client=ctx.authz.client,
        acr_values=acr_values,
        claims_request=ctx.authz.claims,
    )


def unmet(authz):
    return authz.error(
        "unmet_authentication_requirements", "The user cannot reach the essential authentication context."
    )


def second_factor_owed(ctx):
    """A step-up or an enrolment page when the session's acr is below what this request needs, else None.

    The MFA policy and an essential acr are required; acr_values alone are voluntary (under prompt=none,
    refuse_silent_login refused the required ones and the voluntary ones are skipped).
    """
    step = session_step(ctx, acr_values=ctx.authz.acr_values)
    if step is None:
        return None
    if step.action == UNMET:
        raise unmet(ctx.authz)
    here = ctx.http.get_full_path()
    if step.action == ENROL:
        return HttpResponseRedirect(reverse("accounts:mfa_setup") + "?" + urlencode({"next": here}))
    query = {"next": here}
    if step.acr == authn.ACR_PHISHING_RESISTANT:
        query["acr"] = step.acr
    return HttpResponseRedirect(reverse("accounts:login_verify") + "?" + urlencode(query))


def remembered_consent(ctx):
    """The user's earlier "Allow" covers this request (scopes and claims asked for by name).

    A metadata document's client is asked about every time: its document, redirect URIs included, may
    have changed hands since the user last said yes.
    """
    authz = ctx.authz
    if authz.client.from_metadata_document:
        return False
    return consent_covers(user=ctx.session.user, client=authz.client, scopes=wanted_scopes(authz))


def wanted_scopes(authz):
    return consent_scopes(authz.scopes, authz.claims, authz.client)


def consent_page(ctx):
    authz = ctx.authz
    wanted = wanted_scopes(authz)
    context = {
        "application": authz.client,
        "scopes": list(authz.scopes),
        "scope_descriptions": [
            description
            for scope, description in settings.SIGNET_SCOPES.items()
            if scope in wanted and scope != "openid"
        ],
        "consent_shown": signing.dumps(sorted(wanted), salt=CONSENT_SHOWN_SALT),
        "document_host": metadata_documents.host_of(authz.client),
        "form": ConsentForm.of(authz),
        "consent_form_field": CONSENT_FORM_FIELD,
        "consent_shown_field": CONSENT_SHOWN_FIELD,
    }
    return TemplateResponse(ctx.http, "oidc/consent.html", context)


# --- the consent form (POST) ----------------------------------------------------------------------------
def answer_consent_form(http):
    if not http.user.is_authenticated:
        # The session ended while the consent page was open: sign in, then see the page again.
        return redirect_to_login(http.get_full_path(), resolve_url(settings.LOGIN_URL), "next")
    form = ConsentForm(http.POST)
    try:
        ctx = AuthorizationContext.of(http, authorization_request.from_consent_form(form))
        authz, allowed = ctx.authz, form.cleaned_data["allow"]
        if allowed:
            # GET sent the user through any step owed; a consent form posted without it is refused.
            step = session_step(ctx)
            if step is not None and step.required:
                raise authz.error("access_denied", NOT_MET)
        if not access_policy.user_may_use(authz.client, ctx.session.user):
            # "Go back" from the refusal page, or a consent form posted by a user outside the groups.
            raise authz.error("access_denied", access_policy.NOT_ALLOWED)
        if not allowed:
            raise authz.error("access_denied", "The user denied the request.")
        response = issue_code(ctx)
    except AuthorizationError as error:
        return error_response(http, error)
    consent_record(
        user=ctx.session.user, client=authz.client, scopes=wanted_scopes(authz) & scopes_shown(http)
    )
    return response


def scopes_shown(http):
    """The scopes the consent page showed: an operator may have allowed the client more since."""
    try:
        return set(signing.loads(http.POST.get(CONSENT_SHOWN_FIELD, ""), salt=CONSENT_SHOWN_SALT))
    except (signing.BadSignature, TypeError):
        return set()


# --- the code -------------------------------------------------------------------------------------------
def issue_code(ctx):
    """Store a code for the request and the session that approved it; redirect to the client with it.

    OIDC Core 2: auth_time is when *this browser session* authenticated, sid names it, amr (RFC 8176)
    says how; the acr recorded follows from it. The code exchange (grants/authorization_code.py) reads
    them back.
    """
    authz, session = ctx.authz, ctx.session
    code = secrets.token_urlsafe(32)
    get_grant_model().objects.create(
        application=authz.client,
        user=session.user,
        code=code,
        expires=timezone.now() + timedelta(seconds=settings.SIGNET_AUTHORIZATION_CODE_LIFETIME),
        redirect_uri=authz.redirect_uri,
        scope=" ".join(authz.scopes),
        code_challenge=authz.code_challenge or "",
        code_challenge_method=authz.code_challenge_method or "",
        nonce=authz.nonce or "",
        # The grant keeps only the named claims of scopes the client is allowed now (those the
        # consent page showed): allowing the client more later must not release the rest.
        claims=json.dumps(claim_rules.claims_request_within(authz.claims, authz.client.scope_list) or {}),
        resource=list(authz.resources),
        auth_time=session.auth_time,
        sid=session.sid or "",
        amr=list(session.methods),
        acr=recorded_acr(authz, session.methods),
    )
    # A routine event, like token.issued: a log line (never the code itself), no audit row.
    log.info(
        "code.issued",
        extra={"fields": {"client_id": authz.client.client_id, "scope": " ".join(authz.scopes)}},
    )
    params = [("code", code)]
    if authz.state is not None:
        params.append(("state", authz.state))
    return redirect_to_client(authz.redirect_uri, params, authz.response_mode)


def recorded_acr(authz, amr):
    """The acr to record on a code: the level the session's methods reach, or "" when not returned.

    OIDC Core 2 makes acr OPTIONAL: it is returned when the request asked for it (acr_values or the
    claims parameter) and when an MFA policy applied to the client, whose relying party may then check
    the level it was promised.
    """
    asked = acr_requested(acr_values=authz.acr_values, claims_request=authz.claims)
    if not asked and not mfa_policy.mfa_required(authz.client):
        return ""
    return authn.acr_for(amr)


# --- answers --------------------------------------------------------------------------------------------
def error_response(http, error):
    """Before the client and its redirect_uri are trusted, a page; after, a redirect with state and iss."""
    target = error.target
    if target is None:
        return error_page(http, error)
    params = [("error", error.error), ("error_description", error.description)]
    if target.state is not None:
        params.append(("state", target.state))
    return redirect_to_client(target.redirect_uri, params, target.response_mode)


def error_page(http, error):
    return TemplateResponse(http, "oidc/consent.html", {"error": error}, status=error.status)


class ClientRedirect(HttpResponseRedirect):
    """A redirect to a registered redirect URI, whose schemes Signet's settings allow (RFC 9700 2.1)."""

    def __init__(self, url):
        self.allowed_schemes = list(oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
        super().__init__(url)


def redirect_to_client(redirect_uri, params, response_mode):
    """`params` and iss (RFC 9207) added to the redirect URI's query, or its fragment (response_mode)."""
    params = [*params, ("iss", settings.OIDC_ISSUER)]
    parts = urlsplit(redirect_uri)
    if response_mode == "fragment":
        return ClientRedirect(urlunsplit(parts._replace(fragment=urlencode(params))))
    # The registered URI's own query stays, but not an `iss` of its own: RFC 9207 wants one, ours.
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    return ClientRedirect(urlunsplit(parts._replace(query=urlencode(kept + params))))
