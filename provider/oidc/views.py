"""Discovery, authorization (consent) and the DOT views Signet mounts. Thin: rules live elsewhere."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model

from accounts.sessions import session_auth_time, session_sid

from . import claims
from .consent import consent_covers, consent_record


def _url(name):
    return settings.OIDC_ISSUER + reverse(name)


def provider_metadata():
    """OpenID Provider Metadata (OIDC Discovery 3) and RFC 8414: only what actually works."""
    return {
        "issuer": settings.OIDC_ISSUER,
        "authorization_endpoint": _url("oauth2_provider:authorize"),
        "token_endpoint": _url("oauth2_provider:token"),
        "userinfo_endpoint": _url("oauth2_provider:user-info"),
        "jwks_uri": _url("oauth2_provider:jwks-info"),
        "end_session_endpoint": _url("oauth2_provider:rp-initiated-logout"),
        "revocation_endpoint": _url("oauth2_provider:revoke-token"),
        "introspection_endpoint": _url("oauth2_provider:introspect"),
        "scopes_supported": list(settings.SIGNET_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "sid",
            *claims.SUPPORTED_CLAIMS,
        ],
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }


@require_safe
def discovery(request):
    response = JsonResponse(provider_metadata())
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@method_decorator(never_cache, name="dispatch")
class AuthorizeView(dot_views.AuthorizationView):
    """DOT's authorization endpoint with remembered consent and session-bound auth_time."""

    template_name = "oidc/consent.html"

    def get(self, request, *args, **kwargs):
        skip = self._remembered_consent(request)
        if skip is not None:
            return skip
        return super().get(request, *args, **kwargs)

    def _remembered_consent(self, request):
        """Approve without the page when the user already consented to these scopes."""
        if "consent" in request.GET.get("prompt", "").split():
            return None
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError:
            return None  # DOT renders the error
        client = self._client(credentials["client_id"])
        if client is None or client.skip_authorization:
            return None
        if not consent_covers(user=request.user, client=client, scopes=scopes):
            return None
        uri, _headers, _body, _status = self.create_authorization_response(
            request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
        )
        return self.redirect(uri, client)

    @staticmethod
    def _client(client_id):
        return get_application_model().objects.filter(client_id=client_id).first()

    def create_authorization_response(self, request, scopes, credentials, allow):
        # OIDC Core 2: auth_time is when *this browser session* authenticated; sid names it.
        credentials = dict(credentials, auth_time=session_auth_time(request), sid=session_sid(request))
        return super().create_authorization_response(request, scopes, credentials, allow)

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.cleaned_data.get("allow") and "code=" in response.get("Location", ""):
            client = self._client(form.cleaned_data["client_id"])
            consent_record(user=self.request.user, client=client, scopes=form.cleaned_data["scope"].split())
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_descriptions"] = [
            settings.SIGNET_SCOPES.get(s, s) for s in context.get("scopes", []) if s != "openid"
        ]
        return context
