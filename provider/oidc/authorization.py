"""Rules of the authorization endpoint (OIDC Core 3.1.2), as a mixin of SignetValidator.

oauthlib builds its own request object from the URL, body and headers; it never sees Django's
session. The authorization view therefore hands the browser session over as a BrowserSession
object under the BROWSER_SESSION header key (see views.BrowserSessionOAuthLibCore). That key has
no HTTP_ prefix, so no client can send it: Django files every request header under HTTP_*.
"""

import re
import time
from dataclasses import dataclass

from django.conf import settings
from oauth2_provider.models import get_application_model
from oauthlib.oauth2.rfc6749 import errors

from accounts import authn, mfa_policy
from accounts.sessions import session_auth_time, session_sid
from keys import jwt
from provider import untrusted_json

from . import access_policy, metadata_documents
from . import claims as claim_rules
from .consent import consent_covers
from .policy import pkce_required_for

BROWSER_SESSION = "Signet-Browser-Session"

# The acr levels a sign-in can reach (accounts/authn.py: "1" a password, "2" two kinds of factor,
# "phr" a passkey with user verification), weakest first.
ACR_VALUES_SUPPORTED = list(authn.ACR_VALUES)

# What a signed-in session still owes an authorization request (authentication_step).
STEP_UP, ENROL, UNMET = "step_up", "enrol", "unmet"

# Parameters that may legitimately repeat: RFC 8707 asks for one `resource` per target.
REPEATABLE_PARAMETERS = frozenset({"resource"})
RESPONSE_MODES = frozenset({"query", "fragment"})
# RFC 7636 4.2: BASE64URL(SHA256(verifier)) is 43 characters from the unreserved set.
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True)
class BrowserSession:
    """What the browser session knows: the signed-in user (or None), when and which session."""

    user: object = None
    auth_time: int | None = None
    sid: str | None = None
    methods: tuple = ()  # RFC 8176 amr values the session signed in with (accounts/authn.py)


ANONYMOUS = BrowserSession()


class InvalidHint(Exception):
    """The id_token_hint is not an ID token this provider issued."""


class InteractionRequired(errors.OAuth2Error):
    """OIDC Core 3.1.2.6: the request needs a page the user must see (prompt=none forbids it)."""

    error = "interaction_required"


class UnmetAuthenticationRequirements(errors.OAuth2Error):
    """OpenID Connect Unmet Authentication Requirements 1.0: the essential acr cannot be reached."""

    error = "unmet_authentication_requirements"


@dataclass(frozen=True)
class AuthenticationStep:
    """What the session must do before this request gets a code: STEP_UP, ENROL or UNMET."""

    action: str
    acr: str  # the level it is for
    required: bool  # False when only acr_values asked (voluntary: prompt=none goes on without it)


def _now():
    return int(time.time())


def prompt_values(prompt):
    """OIDC Core 3.1.2.1: prompt is a space-delimited, case-sensitive list."""
    if not prompt:
        return set()
    if isinstance(prompt, str):
        return set(prompt.split())
    return set(prompt)


def parse_max_age(value):
    """max_age as seconds, or None when absent. Raises ValueError unless a non-negative integer."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isdigit() or len(value) > 12:
        raise ValueError("max_age must be a non-negative integer")
    return int(value)


def reauthentication_required(*, prompt, max_age, auth_time, now=None):
    """True when the session's authentication cannot stand for this request.

    OIDC Core 3.1.2.1: prompt=login (and select_account, which Signet answers with the login
    page where another account can be chosen) asks for a fresh login; max_age bounds the age of
    the session's authentication, and max_age=0 means always (the equivalent of prompt=login).
    A session that never recorded its auth_time cannot prove its age either.
    """
    if prompt_values(prompt) & {"login", "select_account"}:
        return True
    if auth_time is None:
        return True
    if max_age is None:
        return False
    if max_age == 0:
        return True
    now = _now() if now is None else now
    return now - auth_time > max_age


def id_token_hint_claims(hint, *, now=None):
    """The claims of an ID token Signet issued: signed by any published key, `iss` ours.

    Expiry is deliberately not checked (OIDC Core 3.1.2.1: the hint may be an expired token).
    An access token (typ at+jwt) is not an ID token and is refused.
    """
    try:
        header = jwt.unverified_header(hint)
        claims = jwt.verify(hint, now=now)
    except jwt.InvalidToken as e:
        raise InvalidHint(str(e)) from e
    if header.get("typ", "JWT") != "JWT":
        raise InvalidHint("not an ID token")
    if claims.get("iss") != settings.OIDC_ISSUER:
        raise InvalidHint("issued by another provider")
    if not isinstance(claims.get("sub"), str) or not claims.get("aud"):
        raise InvalidHint("not an ID token")
    return claims


def acr_requested(*, acr_values, claims_request):
    """OIDC Core 3.1.2.1 / 5.5.1.1: acr is returned when acr_values or the claims parameter ask."""
    if acr_values:
        return True
    return "acr" in claim_rules.requested_claim_names(claims_request, "id_token")


def essential_acr_values(claims_request):
    """OIDC Core 5.5.1.1: the acr values an essential acr request names (None when acr is not essential)."""
    if not isinstance(claims_request, dict) or not isinstance(claims_request.get("id_token"), dict):
        return None
    spec = claims_request["id_token"].get("acr")
    if not isinstance(spec, dict) or not spec.get("essential"):
        return None
    wanted = spec.get("values") if isinstance(spec.get("values"), list) else None
    if wanted is None and "value" in spec:
        wanted = [spec["value"]]
    return wanted


def essential_acr_unmet(claims_request):
    """OIDC Core 5.5.1.1: an essential acr request naming only values no Signet sign-in reaches."""
    wanted = essential_acr_values(claims_request)
    return wanted is not None and not any(value in ACR_VALUES_SUPPORTED for value in wanted)


def _first_reachable(user, have, wanted):
    """(met, the first of `wanted` the user's factors can reach): met when `have` satisfies one already."""
    known = [value for value in wanted if value in ACR_VALUES_SUPPORTED]
    if any(authn.acr_satisfies(have, value) for value in known):
        return True, None
    return False, next((value for value in known if mfa_policy.can_reach(user, value)), None)


def authentication_step(*, user, methods, client, acr_values=None, claims_request=None):
    """What a session signed in with `methods` still owes a request, or None when it may go on.

    In order: the MFA policy (SIGNET_MFA or the client's require_mfa) steps a user with a factor up
    and enrols one without; an essential acr (OIDC Core 5.5.1.1) steps up, or is UNMET when the
    user's factors cannot reach it; acr_values (3.1.2.1, voluntary) step up only when they can.
    """
    have = authn.acr_for(methods)
    if mfa_policy.mfa_required(client) and not authn.acr_satisfies(have, authn.ACR_MFA):
        action = STEP_UP if mfa_policy.can_reach(user, authn.ACR_MFA) else ENROL
        return AuthenticationStep(action, authn.ACR_MFA, required=True)
    essential = essential_acr_values(claims_request)
    if essential:
        met, reachable = _first_reachable(user, have, essential)
        if not met:
            if reachable is None:
                return AuthenticationStep(UNMET, "", required=True)
            return AuthenticationStep(STEP_UP, reachable, required=True)
    voluntary = acr_values.split() if isinstance(acr_values, str) else []
    if voluntary:
        met, reachable = _first_reachable(user, have, voluntary)
        if not met and reachable is not None:
            return AuthenticationStep(STEP_UP, reachable, required=False)
    return None


def parse_claims_request(raw):
    """OIDC Core 5.5: a JSON object whose userinfo / id_token members are objects of objects or nulls."""
    if raw is None or raw == "":
        return None
    try:
        value = untrusted_json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as e:
        raise ValueError("claims is not valid JSON") from e
    if value is None:  # DOT's consent form carries an absent claims request as "null"
        return None
    if not isinstance(value, dict):
        raise ValueError("claims must be a JSON object")
    for target in ("userinfo", "id_token"):
        section = value.get(target)
        if section is None:
            continue
        if not isinstance(section, dict) or not all(
            spec is None or isinstance(spec, dict) for spec in section.values()
        ):
            raise ValueError(f"claims.{target} must map claim names to null or an object")
    return value


def browser_session(django_request):
    """The BrowserSession of a Django request (the authorization view hands it to oauthlib)."""
    user = getattr(django_request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    return BrowserSession(
        user=user,
        auth_time=session_auth_time(django_request),
        sid=session_sid(django_request),
        methods=tuple(authn.session_methods(django_request)),
    )


def browser_session_of(request):
    """The BrowserSession the authorization view attached to an oauthlib request."""
    session = request.headers.get(BROWSER_SESSION) if request.headers else None
    return session if isinstance(session, BrowserSession) else ANONYMOUS


def consent_scopes(scopes, claims_request, client):
    """The scopes a user approves: those requested, plus those behind claims asked for by name.

    OIDC Core 5.5 lets a client ask for single claims (say `email`) without their scope; the user
    must see and approve that too, and only scopes the client is allowed count.
    """
    allowed = set(client.scope_list) if client is not None else set()
    return set(scopes) | (claim_rules.scopes_of_requested_claims(claims_request) & allowed)


class AuthorizationRules:
    """prompt, max_age, id_token_hint and PKCE rules that DOT leaves to the validator."""

    # --- request shape, checked once client_id and redirect_uri are known good ------------------
    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        # oauthlib calls this first after validating client_id and redirect_uri, so errors raised
        # here redirect to a registered URI (never to an unverified one) and come before any UI.
        self.check_authorization_request_shape(request)
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)

    def check_authorization_request_shape(self, request):
        """Refuse malformed requests with invalid_request (or the OIDC *_not_supported errors)."""
        self._refuse_repeated_parameters(request)
        self._refuse_unsupported_response_type(request)
        self._refuse_request_objects(request)
        self._refuse_unsupported_response_mode(request)
        self._refuse_prompt_create(request)
        self._refuse_malformed_max_age(request)
        self._refuse_malformed_claims(request)
        self._refuse_unmeetable_acr(request)
        self._refuse_non_s256_pkce(request)

    @staticmethod
    def _refuse_repeated_parameters(request):
        # RFC 6749 3.1: request and response parameters MUST NOT be included more than once.
        repeated = sorted(set(request.duplicate_params) - REPEATABLE_PARAMETERS)
        if repeated:
            raise errors.InvalidRequestError(
                description=f"Repeated parameter: {', '.join(repeated)}.", request=request
            )

    @staticmethod
    def _refuse_unsupported_response_type(request):
        # RFC 6749 4.1.2.1: unsupported_response_type is for a type this server does not offer at all
        # (only "code": discovery's response_types_supported); unauthorized_client would claim it
        # offers the type but not to this client.
        if request.response_type != "code":
            raise errors.UnsupportedResponseTypeError(
                description="Only response_type=code is supported.", request=request
            )

    @staticmethod
    def _refuse_request_objects(request):
        # OIDC Core 6.1, 6.2, 7.2.1: say so when request objects or self-issued registration are sent.
        sent = {name for name, _ in (request.decoded_body or []) + request.uri_query_params}
        for parameter, error in (
            ("request", "request_not_supported"),
            ("request_uri", "request_uri_not_supported"),
            ("registration", "registration_not_supported"),
        ):
            if parameter in sent:
                raise errors.CustomOAuth2Error(
                    error=error, description=f"The {parameter} parameter is not supported.", request=request
                )

    @staticmethod
    def _refuse_unsupported_response_mode(request):
        if request.response_mode is not None and request.response_mode not in RESPONSE_MODES:
            request.response_mode = None  # the error itself goes back in the query
            raise errors.InvalidRequestError(description="Unsupported response_mode.", request=request)

    @staticmethod
    def _refuse_prompt_create(request):
        # Prompt Create 1.0 4.1.1: an OP that does not offer sign-up answers create with invalid_request.
        if "create" in prompt_values(request.prompt):
            raise errors.InvalidRequestError(description="prompt=create is not supported.", request=request)

    @staticmethod
    def _refuse_malformed_max_age(request):
        try:
            parse_max_age(request.max_age)
        except ValueError as e:
            raise errors.InvalidRequestError(description=str(e) + ".", request=request) from e

    @staticmethod
    def _refuse_malformed_claims(request):
        try:
            parse_claims_request(request.claims)
        except ValueError as e:
            raise errors.InvalidRequestError(
                description=f"Malformed claims parameter: {e}.", request=request
            ) from e

    @staticmethod
    def _refuse_unmeetable_acr(request):
        # OIDC Core 5.5.1.1: an essential acr the OP cannot satisfy is a failed authentication.
        if essential_acr_unmet(parse_claims_request(request.claims)):
            raise errors.AccessDeniedError(
                description="The requested authentication context cannot be met.", request=request
            )

    @staticmethod
    def _refuse_non_s256_pkce(request):
        # RFC 9700 2.1.1: S256 only. A challenge without a method means "plain" (RFC 7636 4.3).
        if request.code_challenge is None:
            return
        if request.code_challenge_method != "S256":
            raise errors.InvalidRequestError(
                description="code_challenge_method must be S256.", request=request
            )
        if not S256_CHALLENGE.match(request.code_challenge):
            raise errors.InvalidRequestError(description="Malformed code_challenge.", request=request)

    def validate_client_id(self, client_id, request, *args, **kwargs):
        # No client id contains NUL, and PostgreSQL refuses it in a lookup (ValueError, a 500).
        if not isinstance(client_id, str) or "\x00" in client_id:
            return False
        if metadata_documents.names_document(client_id):
            # Registered or refreshed from its document before DOT looks the client up. A refusal is
            # invalid_client's error page: the document's redirect_uris are not verified, so never
            # a redirect (RFC 6749 4.1.2.1).
            try:
                if metadata_documents.client_for(client_id) is None:
                    return False
            except metadata_documents.DocumentRefused as e:
                raise errors.InvalidClientIdError(description=str(e), request=request) from None
        return super().validate_client_id(client_id, request, *args, **kwargs)

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        # OIDC Core 3.1.2.1: redirect_uri is REQUIRED in an authorization request; oauthlib then
        # raises MissingRedirectURIError (an error page). The token endpoint keeps RFC 6749's default.
        if request.response_type is not None and request.grant_type is None:
            return None
        return super().get_default_redirect_uri(client_id, request, *args, **kwargs)

    # --- prompt=none ----------------------------------------------------------------------------
    def validate_silent_login(self, request):
        """OIDC Core 3.1.2.1 prompt=none: succeed only with a session the request accepts as is."""
        session = browser_session_of(request)
        if session.user is None:
            return False
        if reauthentication_required(
            prompt=None, max_age=parse_max_age(request.max_age), auth_time=session.auth_time
        ):
            return False
        # OIDC Core 3.1.2.1: a hint naming someone else is login_required when no UI may be shown.
        if not self._hint_names_session_user(request, session):
            return False
        # Outside the client's allowed groups: no page may say so, the relying party hears it.
        if not access_policy.user_may_use(request.client, session.user):
            raise errors.AccessDeniedError(request=request, description=access_policy.NOT_ALLOWED)
        # A second step the policy or an essential acr asks for is a page: interaction_required.
        step = authentication_step(
            user=session.user,
            methods=session.methods,
            client=request.client,
            acr_values=request.acr_values,
            claims_request=parse_claims_request(request.claims),
        )
        if step is not None and step.action == UNMET:
            raise UnmetAuthenticationRequirements(request=request)
        if step is not None and step.required:
            raise InteractionRequired(request=request)
        return True

    def validate_silent_authorization(self, request):
        """OIDC Core 3.1.2.1 prompt=none: consent must already cover everything asked for."""
        session = browser_session_of(request)
        client = request.client
        if session.user is None or client is None:
            return False
        if client.from_metadata_document:
            return False  # asked every time (views.AuthorizeView._answer_without_page)
        if client.skip_authorization:
            return True
        scopes = consent_scopes(request.scopes or [], parse_claims_request(request.claims), client)
        return consent_covers(user=session.user, client=client, scopes=scopes)

    # --- id_token_hint and claims.id_token.sub ------------------------------------------------
    def validate_user_match(self, id_token_hint, scopes, claims, request):
        """The user named by id_token_hint (or a requested sub value) must be the session's user.

        When this request is about to make the user log in again (no session, prompt=login,
        max_age exceeded) the check waits for that login: the user may be "logged in by the request".
        """
        session = browser_session_of(request)
        if session.user is None:
            self._verified_hint(request)  # a garbage hint is refused before any login page
            return True
        if "none" not in prompt_values(request.prompt) and reauthentication_required(
            prompt=request.prompt, max_age=parse_max_age(request.max_age), auth_time=session.auth_time
        ):
            self._verified_hint(request)
            return True
        return self._hint_names_session_user(request, session)

    def _hint_names_session_user(self, request, session):
        subject = str(session.user.pk)
        hint = self._verified_hint(request)
        if hint is not None and hint["sub"] != subject:
            return False
        wanted = requested_sub(parse_claims_request(request.claims))
        return wanted is None or wanted == subject

    @staticmethod
    def _verified_hint(request):
        if not request.id_token_hint:
            return None
        try:
            return id_token_hint_claims(request.id_token_hint)
        except InvalidHint as e:
            # Never fall back to "no hint": a forged or foreign hint must not pass silently.
            raise errors.InvalidRequestError(
                description="id_token_hint is not a valid ID token issued by this provider.", request=request
            ) from e

    # --- PKCE ------------------------------------------------------------------------------------
    def is_pkce_required(self, client_id, request):
        """RFC 9700 2.1.1: PKCE is mandatory for public clients; confidential clients may use it.

        Decided here rather than by DOT's PKCE_REQUIRED setting: DOT calls that setting only when
        it is a callable or a bool, and a dotted path there is a truthy string that is not True.
        """
        client = request.client if getattr(request.client, "client_id", None) == client_id else None
        if client is None:
            client = (
                get_application_model()
                .objects.filter(client_id=client_id)
                .only("client_type", "registration_source")
                .first()
            )
        return pkce_required_for(client)

    # --- acr ------------------------------------------------------------------------------------
    @staticmethod
    def authorization_acr(request):
        """The acr to record on a code: the level the session's methods reach, or "" when not returned.

        OIDC Core 2 makes acr OPTIONAL: it is returned when the request asked for it (acr_values or
        the claims parameter) and when an MFA policy applied to the client, whose relying party may
        then check the level it was promised; otherwise it stays out, as before.
        """
        claims_request = request.claims
        if isinstance(claims_request, str):
            try:
                claims_request = parse_claims_request(claims_request)
            except ValueError:
                claims_request = None
        asked = acr_requested(acr_values=request.acr_values, claims_request=claims_request)
        if not asked and not mfa_policy.mfa_required(request.client):
            return ""
        return authn.acr_for(getattr(request, "amr", None) or [])


def requested_sub(claims_request):
    """OIDC Core 5.5.1: a `sub` value asked for in the id_token claims request, if any."""
    if not isinstance(claims_request, dict) or not isinstance(claims_request.get("id_token"), dict):
        return None
    spec = claims_request["id_token"].get("sub")
    if isinstance(spec, dict) and isinstance(spec.get("value"), str):
        return spec["value"]
    return None
