"""What DOT's authorization view still asks of a validator: the authorization endpoint's rules.

The token, introspection, revocation and userinfo endpoints are Signet's own (provider/oidc/endpoints);
DOT and oauthlib serve only /authorize (and RP-initiated logout), through their public validator
hooks. No private DOT method is overridden or called here.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from provider import untrusted_json

from . import audiences
from . import claims as claim_rules
from .authorization import AuthorizationRules
from .models import AuthorizationCode


def _claims_request(value):
    """A claims request as oauthlib may hold it (JSON text or already parsed), or None."""
    if isinstance(value, str):
        try:
            value = untrusted_json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


class SignetValidator(AuthorizationRules, OAuth2Validator):
    def get_oidc_issuer_endpoint(self, request):
        return settings.OIDC_ISSUER

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """RFC 8707 2: every requested resource must be one of the client's audiences (invalid_target)."""
        # The consent step passes a list; the first visit has only the query string, where
        # oauthlib keeps one value of a parameter RFC 8707 lets repeat.
        resources = audiences.as_list(request.resource)
        if not isinstance(request.resource, list):
            resources = audiences.query_resources(request.uri) or resources
        disallowed = audiences.first_disallowed(resources, client)
        if disallowed is not None:
            raise errors.CustomOAuth2Error(
                error="invalid_target",
                description=f"The client may not request tokens for the resource {disallowed!r}.",
                request=request,
            )
        request.resource = resources
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code's row, with what its exchange needs to know of this sign-in (auth_time, sid, amr, acr).

        The grant keeps only the named claims the user was shown and approved: those of scopes the
        client is allowed now (the consent page showed exactly those). Allowing the client more
        later must not release the rest.
        """
        claims_request = claim_rules.claims_request_within(
            _claims_request(request.claims), request.client.scope_list
        )
        AuthorizationCode.objects.create(
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=timezone.now() + timedelta(seconds=settings.SIGNET_AUTHORIZATION_CODE_LIFETIME),
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims=json.dumps(claims_request or {}),
            resource=list(request.resource or []),
            auth_time=getattr(request, "auth_time", None),
            sid=getattr(request, "sid", None) or "",
            # The session's methods (authn.session_methods, handed over by the view): RFC 8176 amr.
            amr=list(getattr(request, "amr", None) or []),
            acr=self.authorization_acr(request),
        )
