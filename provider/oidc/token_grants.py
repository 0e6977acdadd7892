"""Rules of the token endpoint (RFC 6749 4-6, RFC 8707, RFC 9700), as a mixin of SignetValidator.

Overrides of DOT internals are named where they are used; DOT is pinned to 3.4.* for them:
- `_check_and_set_request_resource` (called, not overridden): DOT normalizes `resource` only when
  it saves the token, after the JWT generator has already chosen `aud`; calling it during
  validation makes the token's aud and DOT's stored resource the same list.

The row locks taken here (the code's grant, the refresh token) hold until the response because
provider/oidc/endpoints.TokenView runs each request in one transaction.
"""

import time

from django.utils import timezone
from oauth2_provider.models import get_grant_model, get_refresh_token_model
from oauthlib.oauth2.rfc6749 import errors

from provider.audit import audit

from . import audiences, client_auth, refresh
from .models import Client, TokenFamily

# Scopes about a user: meaningless for a client acting on its own behalf (client_credentials).
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def _invalid_target(resource, request):
    return errors.CustomOAuth2Error(
        error="invalid_target",
        description=f"The client may not request tokens for the resource {resource!r}.",
        request=request,
    )


class TokenGrantRules:
    """Client authentication, refresh rotation and audience rules on top of DOT's validator."""

    # --- client authentication (RFC 6749 2.3.1) -----------------------------------------------
    def authenticate_client(self, request, *args, **kwargs):
        """client_secret_basic or client_secret_post; an unknown client fails exactly as a wrong secret."""
        presented = client_auth.presented_credentials(
            authorization=request.headers.get("Authorization"),
            body_client_id=request.client_id,
            body_client_secret=request.client_secret,
        )
        if presented is None:
            return False
        known = self.validate_client_id(presented.client_id, request)
        client = request.client if known else None
        stored = (
            client.client_secret
            if client is not None and client.client_type == Client.CLIENT_CONFIDENTIAL
            else None
        )
        if client_auth.stored_secret_matches(presented.secret, stored):
            return True
        audit("client.authentication_failed", client_id=presented.client_id, method=presented.method)
        request.client = None
        return False

    def validate_client_id(self, client_id, request, *args, **kwargs):
        # A NUL byte makes PostgreSQL raise instead of finding nothing: unknown, never a 500.
        if not client_auth.plausible_identifier(client_id):
            return False
        return super().validate_client_id(client_id, request, *args, **kwargs)

    # --- grant types ---------------------------------------------------------------------------
    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type == "password":
            # RFC 9700 2.4: the password grant MUST NOT be used, so DOT refuses it everywhere
            # (COMPLIANT_BCP_RFC9700_PASSWORD_GRANT). An operator may still register one
            # first-party client for it (`clients create --grant password`): only that client gets it.
            return client.authorization_grant_type == Client.GRANT_PASSWORD
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_user(self, username, password, client, request, *args, **kwargs):
        """Password grant: Django's authenticate(request=...) so login throttling covers it too; audited."""
        # oauthlib checks the password before the grant type: refuse other clients first, or any
        # client could test passwords here.
        if not self.validate_grant_type(client.client_id, "password", client, request):
            raise errors.UnauthorizedClientError(request=request)
        valid = super().validate_user(username, password, client, request, *args, **kwargs)
        if valid:
            request.auth_time = int(time.time())
        audit(
            "token.password_grant." + ("succeeded" if valid else "failed"),
            actor=request.user.pk if valid else None,
            client_id=client.client_id,
        )
        return valid

    # --- scopes and audiences ------------------------------------------------------------------
    def get_default_scopes(self, client_id, request, *args, **kwargs):
        if request.grant_type == "client_credentials":
            return []
        return super().get_default_scopes(client_id, request, *args, **kwargs)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        """Called at /authorize and for the client_credentials and password grants."""
        if request.grant_type == "client_credentials" and USER_SCOPES & set(scopes):
            return False  # no user: no OpenID or profile scopes
        self._check_resources(request, client)
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    def _check_resources(self, request, client):
        """RFC 8707 2: every requested resource must be one of the client's audiences (invalid_target)."""
        if request.grant_type is None:
            # /authorize: the consent step passes a list; the first visit has only the query string.
            resources = audiences.as_list(request.resource)
            if not isinstance(request.resource, list):
                resources = audiences.query_resources(request.uri) or resources
        else:
            self._check_and_set_request_resource(request)  # DOT private, see the module docstring
            resources = request.resource
        disallowed = audiences.first_disallowed(resources, client)
        if disallowed is not None:
            raise _invalid_target(disallowed, request)

    # --- authorization code (RFC 6749 4.1.2, 4.1.3) ---------------------------------------------
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not client_auth.plausible_identifier(code):
            return False
        # Lock the code until this request's transaction ends: of N simultaneous exchanges one
        # proceeds and the others find the code gone.
        grant = get_grant_model().objects.select_for_update().filter(code=code, application=client).first()
        if grant is None:
            self._revoke_tokens_of_used_code(code, client)
            return False
        request.signet_grant = grant  # the validator's later questions about this code read it
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        self._check_resources(request, client)
        return True

    # DOT reads the code's row again for each of these questions (five queries per exchange); the
    # row validate_code locked for this request answers them.
    @staticmethod
    def locked_grant(code, request):
        grant = getattr(request, "signet_grant", None)
        return grant if grant is not None and grant.code == code else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        grant = self.locked_grant(code, request)
        if grant is not None:
            return grant.redirect_uri_allowed(redirect_uri)
        return super().confirm_redirect_uri(client_id, code, redirect_uri, client, request, *args, **kwargs)

    def get_code_challenge(self, code, request):
        grant = self.locked_grant(code, request)
        if grant is not None:
            return grant.code_challenge or None
        return super().get_code_challenge(code, request)

    def get_code_challenge_method(self, code, request):
        grant = self.locked_grant(code, request)
        if grant is not None:
            return grant.code_challenge_method or None
        return super().get_code_challenge_method(code, request)

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self.locked_grant(code, request)
        if grant is not None:
            return grant.nonce or None
        return super().get_authorization_code_nonce(client_id, code, redirect_uri, request)

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        # oauthlib's OpenID dispatcher asks before validate_code runs: no lookup of a NUL code.
        if not client_auth.plausible_identifier(code):
            return []
        return super().get_authorization_code_scopes(client_id, code, redirect_uri, request)

    @staticmethod
    def _revoke_tokens_of_used_code(code, client):
        """RFC 6749 4.1.2: a code used twice SHOULD revoke every token issued from it."""
        family = TokenFamily.objects.filter(code_checksum=refresh.checksum(code), client=client).first()
        if family is not None:
            refresh.family_revoke(
                family=family.family,
                event="token.code_reuse",
                client_id=client.client_id,
                actor=family.user_id,
            )

    # --- refresh tokens (RFC 6749 6, RFC 9700 4.14.2) --------------------------------------------
    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        rows = list(
            get_refresh_token_model()
            .objects.select_for_update(of=("self",))
            .filter(token_checksum=refresh.checksum(refresh_token))
            .select_related("access_token")
        )
        # Bound to its client: another client's attempt changes nothing, not even reuse detection.
        if not rows or any(rt.application_id != client.pk for rt in rows):
            return False
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            used = next((rt for rt in rows if rt.revoked is not None), None)
            if used is not None:
                # DOT revoked the family (REFRESH_TOKEN_REUSE_PROTECTION); record and audit it.
                refresh.family_revoke(
                    family=used.token_family,
                    event="token.refresh_reuse",
                    client_id=client.client_id,
                    actor=used.user_id,
                )
            return False
        rt = request.refresh_token_instance
        if not rt.user.is_active:
            return False  # a deactivated account gets no new tokens, whatever it still holds
        family = TokenFamily.objects.filter(family=rt.token_family).first() if rt.token_family else None
        if refresh.refresh_token_expired(refresh_token=rt, client=client, family=family, now=timezone.now()):
            return False
        if family is not None:
            # OIDC Core 12.2: an ID token issued on refresh keeps the sign-in's auth_time and sid.
            request.auth_time = family.auth_time
            request.sid = family.sid or None
        self._check_resources(request, client)
        return True

    def save_bearer_token(self, token, request, *args, **kwargs):
        result = super().save_bearer_token(token, request, *args, **kwargs)
        if token.get("refresh_token") and request.grant_type in ("authorization_code", "password"):
            rt = get_refresh_token_model().objects.get(
                token_checksum=refresh.checksum(token["refresh_token"]), revoked__isnull=True
            )
            refresh.family_start(
                refresh_token=rt,
                client=request.client,
                user=request.user,
                scopes=request.scopes,
                auth_time=getattr(request, "auth_time", None),
                sid=getattr(request, "sid", None) or "",
                code=request.code if request.grant_type == "authorization_code" else None,
            )
        return result

    # --- revocation (RFC 7009) -----------------------------------------------------------------------
    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """Revoking a refresh token ends its whole family: every access token from the same grant."""
        client_pk = getattr(request.client, "pk", None)
        if client_pk is None:
            return
        rt = (
            get_refresh_token_model()
            .objects.filter(token_checksum=refresh.checksum(token), application_id=client_pk)
            .first()
        )
        if rt is not None and rt.token_family:
            refresh.family_revoke(
                family=rt.token_family,
                event="token.revoked",
                client_id=request.client.client_id,
                actor=rt.user_id,
            )
            return
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
