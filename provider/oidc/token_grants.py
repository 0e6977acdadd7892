"""Rules of the token endpoint (RFC 6749 4-6, RFC 8707, RFC 9700), as a mixin of SignetValidator.

Overrides of DOT internals are named where they are used; DOT is pinned to 3.4.* for them:
- `_check_and_set_request_resource`: DOT normalizes `resource` only when it saves the token, after
  the JWT generator has already chosen `aud`; calling it during validation makes the token's aud
  and DOT's stored resource the same list. Settled once per request, a code's from its locked row.
- `_save_bearer_token`, `_create_access_token`, `_create_refresh_token`: the rows DOT creates are
  kept on the request, so nothing is read back; a refresh rotates the token validate_refresh_token
  locked instead of locking and re-reading it three more times.

Statements per request (bench/token_cost.py counts them): each one costs the worker about 0.35 ms
of CPU, more than the rest of Signet's own work, so nothing here reads a row twice.

The row locks taken here (the code's grant, the refresh token) hold until the response because
provider/oidc/endpoints.TokenView runs each request in one transaction.
"""

import contextvars
import json
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from provider.audit import audit

from . import audiences, client_auth, client_cache, refresh
from . import claims as claim_rules
from .consent import scopes_still_granted
from .models import Client, TokenFamily
from .userinfo import claims_request_of

# Scopes about a user: meaningless for a client acting on its own behalf (client_credentials).
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


# The access token row created for the current /token request: endpoints.TokenView reports it
# (DOT's app_authorized) without reading it back by checksum as DOT's view does. TokenView resets it
# around each request, since a worker thread serves many.
issued_access_token = contextvars.ContextVar("signet_issued_access_token", default=None)


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

    def _load_application(self, client_id, request):
        """DOT private: the client from client_cache, where DOT reads its row on every request."""
        if request.client is not None:
            return super()._load_application(client_id, request)  # DOT's checks of a client already set
        client = client_cache.client_get(client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

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

    def _check_and_set_request_resource(self, request):
        """DOT private: normalize request.resource (RFC 8707) once per request.

        Signet's validation calls it and DOT's token saving calls it again; the second call would
        give the same list. For a code, the granted resources come from the row validate_code locked.
        """
        if getattr(request, "signet_resources_settled", False):
            return
        grant = None
        if request.grant_type == "authorization_code":
            grant = self.locked_grant(request.code, request)
        if grant is None:
            super()._check_and_set_request_resource(request)
        else:
            self._narrow_to_granted_resources(request, grant.resource or [])
        request.signet_resources_settled = True

    def _narrow_to_granted_resources(self, request, granted):
        """RFC 8707 2.2: a token request may name a subset of the code's resources, never more."""
        requested = audiences.body_resources(request)
        self._validate_resource_uris(request, requested)  # DOT: absolute URIs with a host
        if requested and granted:
            for resource in requested:
                if resource not in granted:
                    raise _invalid_target(resource, request)
            request.resource = requested
        elif granted:
            self._validate_resource_uris(request, granted)  # rows may predate validation
            request.resource = list(granted)
        else:
            request.resource = requested

    # --- authorization code (RFC 6749 4.1.2, 4.1.3) ---------------------------------------------
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not client_auth.plausible_identifier(code):
            return False
        looked_up = getattr(request, "signet_code_lookup", None)
        # Locked by get_authorization_code_scopes, before the client was known.
        fresh = looked_up is None or looked_up[0] != code
        grant = self._lock_code(code) if fresh else looked_up[1]
        if grant is not None and grant.application_id != client.pk:
            grant = None  # another client's code: as unknown as a used one
        if grant is None:
            self._revoke_tokens_of_used_code(code, client)
            return False
        request.signet_grant = grant  # the validator's later questions about this code read it
        # What DOT's validate_code does, from the locked row instead of two more reads.
        if grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        # The sign-in's authentication, which save_authorization_code stored with the code.
        request.auth_time = grant.auth_time
        request.sid = grant.sid or None
        request.acr = grant.acr or None
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
        if getattr(request, "using_default_redirect_uri", False):
            # RFC 6749 4.1.3: REQUIRED when the authorization request had one, and Signet's always
            # do (OIDC Core 3.1.2.1); a missing required parameter is invalid_request (5.2).
            raise errors.InvalidRequestError(
                description="redirect_uri is required: the authorization request carried one."
            )
        if grant is not None:
            confirmed = grant.redirect_uri_allowed(redirect_uri)
        else:
            confirmed = super().confirm_redirect_uri(
                client_id, code, redirect_uri, client, request, *args, **kwargs
            )
        if confirmed:
            return True
        # RFC 6749 5.2: invalid_grant, the grant "does not match the redirection URI used in the
        # authorization request".
        raise errors.InvalidGrantError(description="redirect_uri does not match the authorization request.")

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

    @staticmethod
    def _lock_code(code):
        """The code's row, locked until this request's transaction ends: of N simultaneous
        exchanges one proceeds and the others find the code gone."""
        return (
            get_grant_model()
            .objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(code=code)
            .first()
        )

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        """oauthlib's OpenID dispatcher asks this before validate_code, to pick the grant class.

        DOT reads the scope column here and validate_code then reads and locks the row again: the
        row is locked and read once here instead (TokenView's transaction is already open) and
        validate_code checks its client.
        """
        if not client_auth.plausible_identifier(code):  # a NUL byte would make PostgreSQL raise
            return []
        if not transaction.get_connection().in_atomic_block:
            return super().get_authorization_code_scopes(client_id, code, redirect_uri, request)
        grant = self._lock_code(code)
        request.signet_code_lookup = (code, grant)
        return grant.scope.split() if grant is not None and grant.scope else []

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
            .select_related("access_token", "access_token__userinfo_claims_request", "user")
        )
        # Bound to its client: another client's attempt changes nothing, not even reuse detection.
        if not rows or any(rt.application_id != client.pk for rt in rows):
            return False
        rt = next((row for row in rows if row.revoked is None), None)
        if rt is None:
            # A used or revoked token. DOT decides (its grace period) and revokes the family
            # (REFRESH_TOKEN_REUSE_PROTECTION); Signet records and audits it.
            if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
                used = max(rows, key=lambda row: row.revoked)
                refresh.family_revoke(
                    family=used.token_family,
                    event="token.refresh_reuse",
                    client_id=client.client_id,
                    actor=used.user_id,
                )
                return False
            rt = request.refresh_token_instance
        else:
            # What DOT's validate_refresh_token does for a live token, from the locked row.
            request.user = rt.user
            request.refresh_token = refresh_token  # the presented value: only its checksum is stored
            request.refresh_token_instance = rt
            request.signet_refresh_locked = rt  # rotation below needs no second lock
        if not rt.user.is_active:
            return False  # a deactivated account gets no new tokens, whatever it still holds
        family = TokenFamily.objects.filter(family=rt.token_family).first() if rt.token_family else None
        if refresh.refresh_token_expired(refresh_token=rt, client=client, family=family, now=timezone.now()):
            return False  # idle and absolute limits (DOT's global REFRESH_TOKEN_EXPIRE_SECONDS is off)
        if family is not None:
            # OIDC Core 12.2: an ID token issued on refresh keeps the sign-in's auth_time and sid,
            # and the acr it was given, when it asked for one.
            request.auth_time = family.auth_time
            request.sid = family.sid or None
            request.acr = family.acr or None
            if family.id_token_claims:
                request.claims = family.id_token_claims  # so are the claims it asked for by name
        self._check_resources(request, client)
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """What a refresh may carry on: the granted scopes the client is still allowed.

        oauthlib asks this after validate_refresh_token and refuses (invalid_scope) a `scope`
        parameter reaching beyond it, so a scope an operator removed ends with the next refresh.
        """
        original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        granted = original.split() if isinstance(original, str) else list(original or [])
        return scopes_still_granted(client=request.client, granted=granted)

    # --- storing the tokens ----------------------------------------------------------------------
    def save_bearer_token(self, token, request, *args, **kwargs):
        if transaction.get_connection().in_atomic_block or request.grant_type == "client_credentials":
            # DOT wraps the writes in a transaction of their own. TokenView's transaction already
            # holds every grant that writes several rows (and client_credentials writes one), so
            # DOT's would only add a SAVEPOINT and a RELEASE. No OAuth2Error is raised after the
            # first write; any other error rolls the whole request back.
            result = self._save_bearer_token(token, request, *args, **kwargs)
        else:
            result = super().save_bearer_token(token, request, *args, **kwargs)
        rt = getattr(request, "signet_new_refresh_token", None)
        if rt is not None and request.grant_type in ("authorization_code", "password"):
            refresh.family_start(
                refresh_token=rt,
                client=request.client,
                user=request.user,
                scopes=request.scopes,
                auth_time=getattr(request, "auth_time", None),
                sid=getattr(request, "sid", None) or "",
                acr=getattr(request, "acr", None) or "",
                id_token_claims=claim_rules.section(getattr(request, "claims", None), "id_token"),
                code=request.code if request.grant_type == "authorization_code" else None,
            )
        return result

    def _save_bearer_token(self, token, request, *args, **kwargs):
        """DOT private. A refresh rotates the token validate_refresh_token locked; other grants are DOT's."""
        previous = getattr(request, "signet_refresh_locked", None)
        if (
            request.grant_type != "refresh_token"
            or previous is None
            or previous is not getattr(request, "refresh_token_instance", None)
            or not token.get("refresh_token")
            or not self.rotate_refresh_token(request)
        ):
            return super()._save_bearer_token(token, request, *args, **kwargs)
        if "scope" not in token:
            raise errors.FatalClientError("Failed to renew access token: missing scope")
        self._check_and_set_request_resource(request)
        now = timezone.now()
        expires = now + timedelta(
            seconds=token.get("expires_in", oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
        )
        # DOT's RefreshToken.revoke(), on the rows already loaded: the old refresh token is marked
        # used and the old access token goes. DOT would lock and read both rows again first, in a
        # savepoint, and Django's deletion collector would read the access token once more to find
        # what points at it: only this refresh token (unlinked here) and its claims request.
        old_access_token = previous.access_token
        previous.access_token = None
        previous.revoked = now
        previous.save(update_fields=["access_token", "revoked", "updated"])
        if old_access_token is not None:
            claims_request = claims_request_of(old_access_token)
            if claims_request is not None:
                claims_request.delete()
            table = connection.ops.quote_name(get_access_token_model()._meta.db_table)
            with connection.cursor() as cursor:
                # The model's own table name, quoted; the value is a bound parameter.
                cursor.execute(f"DELETE FROM {table} WHERE id = %s", [old_access_token.pk])  # noqa: S608
        request.refresh_token_instance = None
        access_token = self._create_access_token(expires, request, token, source_refresh_token=previous)
        self._create_refresh_token(request, token["refresh_token"], access_token, previous)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(
            expires, request, token, source_refresh_token=source_refresh_token
        )
        request.signet_new_access_token = access_token
        issued_access_token.set(access_token)
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        rt = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        request.signet_new_refresh_token = rt
        return rt

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
