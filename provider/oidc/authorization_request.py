"""An authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1), read and validated once.

`from_query` reads a GET's query string, `from_consent_form` the consent page's hidden fields; both run
the same rules, in the order the specs give them, and return one frozen AuthorizationRequest or raise
AuthorizationError. Until client_id and redirect_uri are trusted an error is a page (RFC 6749 4.1.2.1:
never redirect to an unverified URI); after that it goes back to the client's redirect_uri.

Only what the request says is decided here. What the browser session must still do (sign in, a second
factor, consent) is the endpoint's (endpoints/authorize.py).
"""

import json
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from oauth2_provider.models import get_grant_model

from . import audiences, metadata_documents
from .authorization import (
    InvalidHint,
    essential_acr_unmet,
    id_token_hint_claims,
    parse_claims_request,
    parse_max_age,
    prompt_values,
)
from .policy import pkce_required_for

# RFC 8707 2: the one parameter a client may repeat.
REPEATABLE_PARAMETERS = frozenset({"resource"})
# RFC 6749 4.1.1 / 3.1.2: the parameters that name the client and where to send it back. Repeated, they
# leave the target in doubt, so the error cannot be sent to it: a page.
IDENTIFYING_PARAMETERS = ("client_id", "response_type", "redirect_uri", "scope", "state")
RESPONSE_MODES = frozenset({"query", "fragment"})
# RFC 7636 4.2: BASE64URL(SHA256(verifier)) is 43 characters from the unreserved set.
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class AuthorizationError(Exception):
    """An authorization error: a page when `target` is None, else a redirect to the client.

    The description is English whatever the page's language: RFC 6749 4.1.2.1 allows only ASCII in
    error_description.
    """

    def __init__(self, error, description, *, target=None, status=400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.target = target
        self.status = status

    def to(self, target):
        """The same error, sent back to a now trusted `target`."""
        return AuthorizationError(self.error, self.description, target=target, status=self.status)


@dataclass(frozen=True)
class ErrorTarget:
    """Where an error goes once client_id and redirect_uri are trusted (RFC 6749 4.1.2.1)."""

    client: object
    redirect_uri: str
    state: str | None
    response_mode: str


@dataclass(frozen=True)
class AuthorizationRequest:
    """What one authorization request asks for, every value checked."""

    client: object  # the active Client
    redirect_uri: str  # registered, exactly as sent
    response_type: str  # "code": the only type Signet offers
    response_mode: str  # "query" or "fragment"
    scopes: tuple[str, ...]  # each one the client may request
    state: str | None
    nonce: str | None
    code_challenge: str | None  # S256 only
    code_challenge_method: str | None
    prompt: frozenset[str]
    max_age: int | None
    id_token_hint: dict | None  # the claims of an ID token Signet issued
    acr_values: str | None
    claims: dict | None  # the parsed claims request (OIDC Core 5.5)
    login_hint: str | None
    resources: tuple[str, ...]  # RFC 8707, each one of the client's audiences
    ui_locales: str | None

    @property
    def target(self):
        return ErrorTarget(self.client, self.redirect_uri, self.state, self.response_mode)

    def error(self, error, description):
        """An AuthorizationError sent back to this request's redirect_uri."""
        return AuthorizationError(error, description, target=self.target)


class Params:
    """A request's parameters as lists of values; an empty value is an omitted one (RFC 6749 3.1)."""

    def __init__(self, lists):
        lists = [(name, list(values)) for name, values in lists]
        self.repeated = {name for name, values in lists if len(values) > 1}
        present = {name: [v for v in values if v != ""] for name, values in lists}
        self.lists = {name: values for name, values in present.items() if values}

    def one(self, name):
        values = self.lists.get(name)
        return values[0] if values else None

    def all(self, name):
        return list(self.lists.get(name, ()))

    def __contains__(self, name):
        return name in self.lists


def from_query(query):
    """The AuthorizationRequest of a GET's query (a QueryDict), or AuthorizationError."""
    return validate(Params(query.lists()))


class ConsentForm(forms.Form):
    """The consent page's form: the request, carried in hidden fields to the POST that answers it.

    The browser may edit them: validate() checks them all again, as if they were a new request.
    """

    allow = forms.BooleanField(required=False)
    client_id = forms.CharField(required=False, widget=forms.HiddenInput())
    redirect_uri = forms.CharField(required=False, widget=forms.HiddenInput())
    response_type = forms.CharField(required=False, widget=forms.HiddenInput())
    response_mode = forms.CharField(required=False, widget=forms.HiddenInput())
    scope = forms.CharField(required=False, widget=forms.HiddenInput())
    state = forms.CharField(required=False, widget=forms.HiddenInput())
    nonce = forms.CharField(required=False, widget=forms.HiddenInput())
    code_challenge = forms.CharField(required=False, widget=forms.HiddenInput())
    code_challenge_method = forms.CharField(required=False, widget=forms.HiddenInput())
    claims = forms.CharField(required=False, widget=forms.HiddenInput())
    acr_values = forms.CharField(required=False, widget=forms.HiddenInput())
    # RFC 8707 resources, space-separated: a URI has no space.
    resource = forms.CharField(required=False, widget=forms.HiddenInput())

    # CharField strips whitespace by default; the values must come back exactly as sent.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.strip = False

    @classmethod
    def of(cls, authz):
        """The form the consent page shows for `authz`."""
        return cls(
            initial={
                "client_id": authz.client.client_id,
                "redirect_uri": authz.redirect_uri,
                "response_type": authz.response_type,
                "response_mode": authz.response_mode,
                "scope": " ".join(authz.scopes),
                "state": authz.state,
                "nonce": authz.nonce,
                "code_challenge": authz.code_challenge,
                "code_challenge_method": authz.code_challenge_method,
                "claims": json.dumps(authz.claims) if authz.claims is not None else "",
                "acr_values": authz.acr_values,
                "resource": " ".join(authz.resources),
            }
        )


def from_consent_form(form):
    """The AuthorizationRequest the consent form carried back (a bound ConsentForm), or AuthorizationError.

    prompt, max_age and id_token_hint are not carried: they were answered before the page was shown.
    """
    if not form.is_valid():
        raise AuthorizationError("invalid_request", "The consent form could not be read.")
    data = form.cleaned_data
    lists = [(name, [data[name]]) for name in form.fields if name not in ("allow", "resource")]
    lists.append(("resource", data["resource"].split()))
    return validate(Params(lists))


def validate(params):
    """Every rule, once, in order: first those that make the redirect_uri trustworthy, then the rest."""
    refuse_repeated_identifying_parameters(params)
    client = active_client(params)
    redirect_uri = registered_redirect_uri(params, client)
    target = ErrorTarget(client, redirect_uri, params.one("state"), error_response_mode(params))
    try:
        refuse_nul_characters(params)
        response_type = present_response_type(params)
        refuse_repeated_parameters(params)
        refuse_unsupported_response_type(response_type)
        refuse_request_objects(params)
        response_mode = supported_response_mode(params)
        prompt = supported_prompt(params)
        max_age = well_formed_max_age(params)
        claims = well_formed_claims(params)
        refuse_unmeetable_acr(claims)
        storable_nonce(params)
        code_challenge, code_challenge_method = s256_challenge(params)
        refuse_clients_without_code_grant(client)
        require_pkce_where_mandatory(client, code_challenge)
        resources = allowed_resources(params, client)
        scopes = allowed_scopes(params, client)
        refuse_prompt_none_with_others(prompt)
        hint = verified_id_token_hint(params)
    except AuthorizationError as error:
        raise error.to(target) from None
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        response_type=response_type,
        response_mode=response_mode,
        scopes=scopes,
        state=params.one("state"),
        nonce=params.one("nonce"),
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        prompt=prompt,
        max_age=max_age,
        id_token_hint=hint,
        acr_values=params.one("acr_values"),
        claims=claims,
        login_hint=params.one("login_hint"),
        resources=resources,
        ui_locales=params.one("ui_locales"),
    )


def invalid_request(description):
    return AuthorizationError("invalid_request", description)


# --- until client_id and redirect_uri are trusted: an error page ----------------------------------------
def refuse_repeated_identifying_parameters(params):
    # RFC 6749 3.1: parameters MUST NOT repeat; repeated, these leave the client or its URI in doubt.
    for name in IDENTIFYING_PARAMETERS:
        if name in params.repeated:
            raise invalid_request(f"Duplicate {name} parameter.")


def active_client(params):
    # RFC 6749 4.1.2.1: a missing or invalid client_id is shown to the user, never redirected.
    client_id = params.one("client_id")
    if client_id is None:
        raise invalid_request("Missing client_id parameter.")
    try:
        # A metadata document's client is registered or refreshed from it here; its redirect_uris are
        # not yet verified, so a refusal is a page.
        client = metadata_documents.client_for(client_id)
    except metadata_documents.DocumentRefused as e:
        raise invalid_request(str(e)) from None
    if client is None or not client.is_active:
        raise invalid_request("Invalid client_id parameter value.")
    return client


def registered_redirect_uri(params, client):
    # OIDC Core 3.1.2.1: redirect_uri is REQUIRED, even for a client with one registered URI; RFC 9700
    # 4.1.3: it must match a registered one exactly.
    redirect_uri = params.one("redirect_uri")
    if redirect_uri is None:
        raise invalid_request("Missing redirect URI.")
    if not client.redirect_uri_allowed(redirect_uri):
        raise invalid_request("Mismatching redirect URI.")
    return redirect_uri


def error_response_mode(params):
    # OAuth 2.0 Multiple Response Types 2.1: errors use the requested mode; an unsupported one gets the
    # response type's default (query), where its own error goes.
    return "fragment" if params.one("response_mode") == "fragment" else "query"


# --- from here on, an error goes back to the client ------------------------------------------------------
def refuse_nul_characters(params):
    # RFC 6749 4.1.2.1 invalid_request ("includes an invalid parameter value"): no parameter carries a
    # NUL, and PostgreSQL cannot store one, so a nonce or claims request with it would end in a 500.
    for values in params.lists.values():
        if any("\x00" in value for value in values):
            raise invalid_request("A parameter value contains a NUL character.")


def present_response_type(params):
    # RFC 6749 4.1.1: response_type is REQUIRED.
    response_type = params.one("response_type")
    if response_type is None:
        raise invalid_request("Missing response_type parameter.")
    return response_type


def refuse_repeated_parameters(params):
    # RFC 6749 3.1: request and response parameters MUST NOT be included more than once.
    repeated = sorted(params.repeated - REPEATABLE_PARAMETERS)
    if repeated:
        raise invalid_request(f"Repeated parameter: {', '.join(repeated)}.")


def refuse_unsupported_response_type(response_type):
    # RFC 6749 4.1.2.1: unsupported_response_type is for a type this server does not offer at all (only
    # "code": discovery's response_types_supported); unauthorized_client would claim it offers the type
    # but not to this client.
    if response_type != "code":
        raise AuthorizationError("unsupported_response_type", "Only response_type=code is supported.")


def refuse_request_objects(params):
    # OIDC Core 6.1, 6.2, 7.2.1: say so when request objects or self-issued registration are sent.
    for parameter, error in (
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ):
        if parameter in params:
            raise AuthorizationError(error, f"The {parameter} parameter is not supported.")


def supported_response_mode(params):
    # OAuth 2.0 Multiple Response Types 2.1: query (code's default) and fragment; form_post is not offered.
    mode = params.one("response_mode")
    if mode is None:
        return "query"
    if mode not in RESPONSE_MODES:
        raise invalid_request("Unsupported response_mode.")
    return mode


def supported_prompt(params):
    # Prompt Create 1.0 4.1.1: an OP that does not offer sign-up answers create with invalid_request.
    prompt = frozenset(prompt_values(params.one("prompt")))
    if "create" in prompt:
        raise invalid_request("prompt=create is not supported.")
    return prompt


def well_formed_max_age(params):
    # OIDC Core 3.1.2.1: max_age is a number of seconds.
    try:
        return parse_max_age(params.one("max_age"))
    except ValueError as e:
        raise invalid_request(str(e) + ".") from None


def well_formed_claims(params):
    # OIDC Core 5.5: a JSON object of userinfo / id_token members.
    try:
        return parse_claims_request(params.one("claims"))
    except ValueError as e:
        raise invalid_request(f"Malformed claims parameter: {e}.") from None


def storable_nonce(params):
    # OIDC Core 3.1.2.1 sets no length for nonce; the code's row keeps as many characters as DOT's
    # Grant.nonce holds, and PostgreSQL refuses a longer one with an error (a 500).
    nonce = params.one("nonce")
    limit = get_grant_model()._meta.get_field("nonce").max_length
    if nonce is not None and len(nonce) > limit:
        raise invalid_request(f"The nonce is longer than {limit} characters.")


def refuse_unmeetable_acr(claims):
    # OIDC Core 5.5.1.1: an essential acr the OP cannot satisfy is a failed authentication.
    if essential_acr_unmet(claims):
        raise AuthorizationError("access_denied", "The requested authentication context cannot be met.")


def s256_challenge(params):
    # RFC 9700 2.1.1: S256 only. A challenge without a method means "plain" (RFC 7636 4.3).
    challenge = params.one("code_challenge")
    if challenge is None:
        return None, None
    if params.one("code_challenge_method") != "S256":
        raise invalid_request("code_challenge_method must be S256.")
    if not S256_CHALLENGE.match(challenge):
        raise invalid_request("Malformed code_challenge.")
    return challenge, "S256"


def refuse_clients_without_code_grant(client):
    # RFC 6749 4.1.2.1: unauthorized_client, the client may not obtain a code (registered for another grant).
    if client.authorization_grant_type != client.GRANT_AUTHORIZATION_CODE:
        raise AuthorizationError(
            "unauthorized_client", "This client may not use the authorization code flow."
        )


def require_pkce_where_mandatory(client, challenge):
    # RFC 9700 2.1.1: PKCE is mandatory for public clients (and metadata documents' clients).
    if challenge is None and pkce_required_for(client):
        raise invalid_request("Code challenge required.")


def allowed_resources(params, client):
    # RFC 8707 2: every resource an absolute URI among the client's audiences, else invalid_target.
    resources = params.all("resource")
    refused = audiences.first_disallowed(resources, client)
    if refused is not None:
        raise AuthorizationError(
            "invalid_target", f"The client may not request tokens for the resource {refused!r}."
        )
    return tuple(resources)


def allowed_scopes(params, client):
    # RFC 6749 3.3: every scope one the client may request (the default: openid), else invalid_scope.
    asked = tuple(dict.fromkeys((params.one("scope") or "").split())) or ("openid",)
    available = set(client.scope_list) & set(settings.SIGNET_SCOPES)
    beyond = [scope for scope in asked if scope not in available]
    if beyond:
        raise AuthorizationError("invalid_scope", f"The scope {beyond[0]!r} is not available to this client.")
    return asked


def refuse_prompt_none_with_others(prompt):
    # OIDC Core 3.1.2.1: "If this parameter contains none with any other value, an error is returned."
    if "none" in prompt and len(prompt) > 1:
        raise invalid_request("Prompt none is mutually exclusive with other values.")


def verified_id_token_hint(params):
    # OIDC Core 3.1.2.1: an ID token this OP issued (expired allowed). A forged or foreign hint is refused,
    # never taken for "no hint".
    hint = params.one("id_token_hint")
    if hint is None:
        return None
    try:
        return id_token_hint_claims(hint)
    except InvalidHint:
        raise invalid_request("id_token_hint is not a valid ID token issued by this provider.") from None
