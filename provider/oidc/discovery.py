"""Discovery: OpenID Provider Metadata (OIDC Discovery 3) and RFC 8414, served from prepared bytes."""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import reverse
from django.views.decorators.http import require_safe

from provider import prepared

from . import claims
from .authorization import ACR_VALUES_SUPPORTED
from .models import ASSERTION_ALGORITHMS

# How a confidential client authenticates (client_authentication.py).
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")

# Relying parties re-read it rarely; it changes only with the settings, i.e. with a deployment.
CACHE_CONTROL = "public, max-age=300"


def _url(name):
    return settings.OIDC_ISSUER + reverse(name)


def provider_metadata():
    """OpenID Provider Metadata (OIDC Discovery 3) and RFC 8414: only what actually works."""
    metadata = {
        "issuer": settings.OIDC_ISSUER,
        "authorization_endpoint": _url("oauth2_provider:authorize"),
        "token_endpoint": _url("oauth2_provider:token"),
        "userinfo_endpoint": _url("oauth2_provider:user-info"),
        "jwks_uri": _url("oauth2_provider:jwks-info"),
        "end_session_endpoint": _url("oauth2_provider:rp-initiated-logout"),
        "revocation_endpoint": _url("oauth2_provider:revoke-token"),
        "introspection_endpoint": _url("oauth2_provider:introspect"),
        "device_authorization_endpoint": _url("oauth2_provider:device-authorization"),
        "scopes_supported": list(settings.SIGNET_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        # "password" and the device grant only work for clients an operator registered for them.
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "subject_types_supported": ["public"],
        # Exactly the algorithms the key ring keeps a key for (SIGNET_SIGNING_ALGS; RS256 always).
        "id_token_signing_alg_values_supported": list(settings.SIGNET_SIGNING_ALGS),
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        # Exactly what client_keys.key_algorithms accepts for a client assertion (RFC 8414 2).
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": list(ACR_VALUES_SUPPORTED),
        "claim_types_supported": ["normal"],
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "at_hash",
            "sid",
            *claims.SUPPORTED_CLAIMS,
        ],
        "claims_parameter_supported": True,
        # OIDC Discovery 3: the languages the pages are shipped in (ui_locales, provider/locale.py).
        "ui_locales_supported": [code for code, _name in settings.LANGUAGES],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        # Back-Channel Logout 1.0 2.1: logout tokens, with the sign-in's sid (provider/oidc/backchannel.py).
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
    if settings.SIGNET_CIMD:
        # draft-ietf-oauth-client-id-metadata-document 5: an https client_id names its metadata.
        metadata["client_id_metadata_document_supported"] = True
    if settings.SIGNET_REGISTRATION in ("token", "open"):
        # RFC 8414 2 / OIDC Discovery 3: where clients register themselves (RFC 7591).
        metadata["registration_endpoint"] = _url("oauth2_provider:register")
    return metadata


# The document as served by this process, built on first use after start-up or a settings change.
_prepared = None


def prepared_metadata():
    global _prepared
    current = _prepared
    if current is None or current.source["issuer"] != settings.OIDC_ISSUER:
        current = _prepared = prepared.prepare(provider_metadata())
    return current


@receiver(setting_changed, dispatch_uid="signet_prepared_discovery")
def _forget_prepared_metadata(**kwargs):
    global _prepared
    _prepared = None


@require_safe
def discovery(request):
    return prepared.respond(
        request, prepared_metadata(), content_type="application/json", cache_control=CACHE_CONTROL
    )
