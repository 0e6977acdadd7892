"""The UserInfo endpoint (OIDC Core 5.3) and the claims it releases, as a mixin of SignetValidator."""

import hashlib

from oauth2_provider.models import get_access_token_model

from provider import untrusted_json

from . import claims as claim_rules
from . import client_cache
from .consent import named_claim_scopes, scopes_still_granted
from .models import UserinfoClaimsRequest


def _checksum(token):
    # DOT finds access tokens by this checksum (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE stores only it).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _claims_request(request):
    value = getattr(request, "claims", None)
    if isinstance(value, str):
        try:
            value = untrusted_json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def claims_request_of(access_token):
    """The access token's UserinfoClaimsRequest or None; no query when its loader joined it."""
    # Django's reverse one-to-one raises a DoesNotExist that is also an AttributeError.
    return getattr(access_token, "userinfo_claims_request", None)


class UserinfoRules:
    """Remember a claims request's userinfo part with the access token; answer userinfo from it."""

    def save_bearer_token(self, token, request, *args, **kwargs):
        wanted = self._userinfo_claims_request(request)
        result = super().save_bearer_token(token, request, *args, **kwargs)
        if not (wanted and token.get("access_token")):
            return result
        created = getattr(request, "signet_new_access_token", None)  # the row token_grants just made
        if created is not None:
            UserinfoClaimsRequest.objects.create(access_token=created, claims=wanted)
            return result
        # A path that did not go through token_grants' row keeping: find the token by checksum.
        stored = (
            get_access_token_model()
            .objects.filter(token_checksum=_checksum(token["access_token"]))
            .only("pk")
            .first()
        )
        if stored is not None:
            UserinfoClaimsRequest.objects.update_or_create(access_token=stored, defaults={"claims": wanted})
        return result

    @staticmethod
    def _userinfo_claims_request(request):
        """The userinfo claims request the new access token inherits: the code's, or on refresh the
        previous access token's (read before DOT's rotation deletes that token)."""
        if request.grant_type == "authorization_code":
            return claim_rules.section(_claims_request(request), "userinfo")
        if request.grant_type == "refresh_token":
            previous = getattr(request, "refresh_token_instance", None)
            if previous is not None and previous.access_token_id:
                row = claims_request_of(previous.access_token)
                return row.claims if row is not None else None
        return None

    def _load_access_token(self, token):
        """DOT private: the bearer token's row with its user and claims request in one query, and
        its client from client_cache (DOT joins the client's row too: a third of userinfo's CPU)."""
        rows = list(
            get_access_token_model()
            .objects.select_related("user", "userinfo_claims_request")
            .filter(token_checksum=_checksum(token))[:1]
        )
        if not rows:
            return None
        access_token = rows[0]
        if access_token.user is not None and not access_token.user.is_active:
            return None  # a deactivated account's tokens end with it, at once
        if access_token.application_id is not None:
            client = client_cache.client_by_pk(access_token.application_id)
            if client is None:
                return None  # deleted between the two reads: its tokens go with it
            access_token.application = client
        return access_token

    def get_userinfo_claims(self, request):
        """OIDC Core 5.3.2: claims for the token's granted scopes and its claims request, as far as
        the client is still allowed them and the user approved them."""
        row = claims_request_of(request.access_token)
        claims_request = row.claims if row is not None else None
        scopes = scopes_still_granted(client=request.client, granted=request.scopes)
        return claim_rules.claims_for(
            request.user,
            scopes,
            claims_request=claims_request,
            target="userinfo",
            allowed_scopes=named_claim_scopes(
                user=request.user, client=request.client, granted=scopes, claims_request=claims_request
            ),
        )
