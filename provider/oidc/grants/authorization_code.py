"""The authorization code grant (RFC 6749 4.1.3, RFC 7636, OIDC Core 3.1.3).

The code's row is locked for the request's transaction: of N simultaneous exchanges of one code,
one proceeds and the others find it gone. A code presented again after its exchange revokes the
grant it started (RFC 6749 4.1.2).
"""

import base64
import hashlib
import json
import re

from django.utils.crypto import constant_time_compare

from .. import claims as claim_rules
from .. import issuance, refresh, storage
from ..access_policy import user_may_use
from ..client_authentication import plausible_identifier
from ..consent import scopes_still_granted
from ..errors import invalid_grant, invalid_request
from ..models import Client, TokenFamily
from .rules import narrowed_resources

CLIENT_GRANTS = (Client.GRANT_AUTHORIZATION_CODE,)
ATOMIC = True
# RFC 7636 4.1: 43 to 128 characters from the unreserved set.
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def issue(ctx):
    code = ctx.param("code")
    if code is None:
        raise invalid_request("The code parameter is missing.")
    row = storage.code_take(code) if plausible_identifier(code) else None
    if row is None or row.application_id != ctx.client.pk:
        # Another client's code is as unknown as a used one: it changes nothing of that client's.
        _revoke_grant_of_used_code(code, ctx.client)
        raise invalid_grant("The authorization code is invalid, expired or already used.")
    redirect_uri = ctx.param("redirect_uri")
    if redirect_uri is None:
        # RFC 6749 4.1.3: REQUIRED when the authorization request had one, and Signet's always do
        # (OIDC Core 3.1.2.1); a missing required parameter is invalid_request (5.2).
        raise invalid_request("redirect_uri is required: the authorization request carried one.")
    if row.expires <= ctx.now:
        raise invalid_grant("The authorization code has expired.")
    if redirect_uri != row.redirect_uri:
        # RFC 6749 5.2: invalid_grant, the grant "does not match the redirection URI used in the
        # authorization request".
        raise invalid_grant("redirect_uri does not match the authorization request.")
    check_pkce(row, ctx.param("code_verifier"))
    if not row.user.is_active:
        raise invalid_grant("The user's account is disabled.")
    if not user_may_use(ctx.client, row.user):  # the user may have left the client's groups since
        raise invalid_grant("The user is not allowed to use this client.")
    ctx.user = row.user
    ctx.scopes = scopes_still_granted(client=ctx.client, granted=row.scope.split())
    granted_resources = list(row.resource or [])
    ctx.resources = narrowed_resources(ctx, granted=granted_resources)
    ctx.nonce = row.nonce or ""
    claims_request = json.loads(row.claims) if row.claims else None  # stored by Signet, already checked
    storage.code_delete(row)
    ctx.grant = refresh.family_start(
        client=ctx.client,
        user=row.user,
        scopes=ctx.scopes,
        resources=granted_resources,
        auth_time=row.auth_time,
        sid=row.sid,
        acr=row.acr,
        amr=row.amr,
        id_token_claims=claim_rules.section(claims_request, "id_token"),
        userinfo_claims=claim_rules.section(claims_request, "userinfo"),
        code=code,
        now=ctx.now,
    )
    return issuance.token_response(ctx, with_refresh_token=True, with_id_token=True)


def check_pkce(row, verifier):
    """RFC 7636 4.6, S256 only (RFC 9700 2.1.1)."""
    if not row.code_challenge:
        if verifier is not None:
            # RFC 9700 2.1.1 (PKCE downgrade): a verifier for a code issued without a challenge means
            # someone stripped the challenge; refuse instead of ignoring it.
            raise invalid_grant("code_verifier sent for a code issued without code_challenge.")
        return
    if verifier is None:
        raise invalid_request("code_verifier is required: the code was issued with a code_challenge.")
    if row.code_challenge_method != "S256" or not VERIFIER.match(verifier):
        raise invalid_grant("PKCE verification failed.")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not constant_time_compare(computed, row.code_challenge):
        raise invalid_grant("PKCE verification failed.")


def _revoke_grant_of_used_code(code, client):
    """RFC 6749 4.1.2: a code used twice SHOULD revoke every token issued from it."""
    if not plausible_identifier(code):
        return
    found = (
        TokenFamily.objects.filter(code_checksum=refresh.checksum(code), client=client)
        .values_list("family", "user_id")
        .first()
    )
    if found is not None:
        refresh.family_revoke(
            family=found[0], event="token.code_reuse", client_id=client.client_id, actor=found[1]
        )
