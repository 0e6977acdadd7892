"""Signet's OAuth2Validator: where DOT asks, Signet answers with its own keys, claims and sessions.

Overrides of DOT internals (private methods), kept small and tested; DOT is pinned to 3.4.* for them:
- `_get_key_for_token`: DOT picks the key by audience and ignores `kid`; we pick by `kid` among
  published keys, so tokens signed before a rotation still verify.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from jwcrypto.jws import InvalidJWSObject
from oauth2_provider.oauth2_validators import OAuth2Validator

from keys import jwt
from keys.selectors import key_by_kid
from provider import untrusted_json

from . import claims as claim_rules
from .authorization import AuthorizationRules
from .consent import named_claim_scopes, scopes_still_granted
from .token_grants import TokenGrantRules
from .userinfo import UserinfoRules


def issuer():
    return settings.OIDC_ISSUER


def _claims_request(value):
    """A claims request as oauthlib may hold it (JSON text or already parsed), or None."""
    if isinstance(value, str):
        try:
            value = untrusted_json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


class SignetValidator(AuthorizationRules, UserinfoRules, TokenGrantRules, OAuth2Validator):
    # --- issuer and keys -------------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request):
        return issuer()

    def _get_key_for_token(self, token):
        """DOT private method: the published key named by the token's kid (any state but revoked)."""
        try:
            header = jwt.unverified_header(token)
        except jwt.InvalidToken as e:
            raise InvalidJWSObject("malformed token") from e
        if header.get("alg") != "RS256":
            return None
        key = key_by_kid(header.get("kid"))
        return key.public if key is not None else None

    def finalize_id_token(self, id_token, token, token_handler, request):
        """DOT's, signing through keys.jwt and storing the row without a savepoint of its own.

        keys.jwt signs with the cached `cryptography` key (jwcrypto costs about 0.3 ms more per
        token) and reads the active key once, so the header's kid always names the signing key.
        One INSERT is atomic by itself: DOT's transaction around it only added SAVEPOINT/RELEASE.
        """
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:  # as DOT: oauthlib may leave the nonce out
            id_token["nonce"] = request.nonce
        serialized = jwt.sign(id_token, typ="JWT")
        row = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = row
        request.id_token = row
        # DOT then stores the access token through _load_id_token, which would verify this very
        # JWT again and re-read its row by jti (about 1.2 ms and a query per exchange).
        self._just_issued_id_token = (serialized, row)
        return serialized

    def _load_id_token(self, token):
        """DOT private method: the ID token this validator just issued needs no second verification.

        The validator may be shared between threads; only an identical serialized JWT (unique by its
        jti and signature) is answered from memory, anything else is verified as before."""
        issued = getattr(self, "_just_issued_id_token", None)
        if issued is not None and issued[0] == token and issued[1] is not None:
            return issued[1]
        return super()._load_id_token(token)

    def validate_bearer_token(self, token, scopes, request):
        """DOT accepts any token whose checksum row exists; a token signed by a revoked (or purged)
        key is invalid too, at userinfo and every endpoint that takes a bearer token."""
        if isinstance(token, str) and token.count(".") == 2 and not jwt.signing_key_published(token):
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The access token's signing key is no longer valid.",
            }
            return False
        return super().validate_bearer_token(token, scopes, request)

    # --- authorization code: remember the session's authentication --------------------------
    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        # The grant keeps only the named claims the user was shown and approved: those of scopes
        # the client is allowed now (the consent page showed exactly those). Allowing the client
        # more later must not release the rest.
        request.claims = claim_rules.claims_request_within(
            _claims_request(request.claims), request.client.scope_list
        )
        grant = self._create_authorization_code(request, code)
        auth_time = getattr(request, "auth_time", None)
        sid = getattr(request, "sid", None) or ""
        acr = self.authorization_acr(request)
        if auth_time or sid or acr:
            grant.auth_time = auth_time
            grant.sid = sid
            grant.acr = acr
            grant.save(update_fields=["auth_time", "sid", "acr"])

    # --- ID token and userinfo claims --------------------------------------------------------
    def get_additional_claims(self, request):
        return {}

    def get_oidc_claims(self, token, token_handler, request):
        claims_request = _claims_request(getattr(request, "claims", None))
        # token_handler is None when DOT builds the userinfo response.
        target = "userinfo" if token_handler is None else "id_token"
        scopes = scopes_still_granted(client=request.client, granted=request.scopes)
        # Scope claims go into the ID token too (OIDC Core 5.4 allows it; relying parties expect it).
        return claim_rules.claims_for(
            request.user,
            scopes,
            claims_request=claims_request,
            target=target,
            allowed_scopes=named_claim_scopes(
                user=request.user, client=request.client, granted=scopes, claims_request=claims_request
            ),
        )

    def get_discovery_claims(self, request):
        return list(claim_rules.SUPPORTED_CLAIMS)

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        lifetime = getattr(request.client, "id_token_lifetime", None) or settings.SIGNET_ID_TOKEN_LIFETIME
        expires = timezone.now() + timedelta(seconds=lifetime)
        claims["exp"] = int(expires.timestamp())
        auth_time = getattr(request, "auth_time", None)
        if auth_time:
            claims["auth_time"] = int(auth_time)
        sid = getattr(request, "sid", None)
        if sid:
            claims["sid"] = sid
        claims["amr"] = ["pwd"]
        acr = getattr(request, "acr", None)
        if acr:  # OIDC Core 2: only when acr_values or the claims parameter asked for it
            claims["acr"] = acr
        return claims, expires
