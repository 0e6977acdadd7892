"""The refresh token grant with rotation and reuse detection (RFC 6749 6, RFC 9700 4.14.2).

The presented token's row is locked for the request's transaction, so of N simultaneous refreshes
one wins. A token presented after its rotation revokes its whole grant. Bound to its client: another
client's attempt changes nothing, not even reuse detection.
"""

from .. import issuance, refresh, storage
from ..access_policy import user_may_use
from ..consent import scopes_still_granted
from ..errors import invalid_grant, invalid_request
from ..models import Client
from .rules import narrowed_resources, requested_scopes

CLIENT_GRANTS = (Client.GRANT_AUTHORIZATION_CODE, Client.GRANT_PASSWORD, Client.GRANT_DEVICE_CODE)
ATOMIC = True


def issue(ctx):
    value = ctx.param("refresh_token")
    if value is None:
        raise invalid_request("The refresh_token parameter is missing.")
    taken = storage.refresh_tokens_take(refresh.checksum(value))
    if not taken or any(row.application_id != ctx.client.pk for row, _ in taken):
        raise invalid_grant("The refresh token is invalid.")
    live, grant = next(((row, grant) for row, grant in taken if row.revoked is None), (None, None))
    if live is None:
        used = max((row for row, _ in taken), key=lambda row: row.revoked)
        refresh.family_revoke(
            family=used.token_family,
            event="token.refresh_reuse",
            client_id=ctx.client.client_id,
            actor=used.user_id,
        )
        raise invalid_grant("The refresh token was already used; its grant is revoked.")
    if grant is None or grant.revoked_at is not None:
        raise invalid_grant("The refresh token's grant has ended.")
    if not grant.user.is_active:
        raise invalid_grant("The user's account is disabled.")
    if not user_may_use(ctx.client, grant.user):
        # Membership decides at every refresh: a user taken out of the client's groups keeps
        # nothing of the grant (its access tokens end with it at introspection and userinfo).
        refresh.family_revoke(
            family=grant.family,
            event="token.access_removed",
            client_id=ctx.client.client_id,
            actor=grant.user_id,
        )
        raise invalid_grant("The user is no longer allowed to use this client; the grant is revoked.")
    if refresh.refresh_token_expired(refresh_token=live, client=ctx.client, family=grant, now=ctx.now):
        raise invalid_grant("The refresh token has expired.")
    # RFC 6749 6: a narrower scope may be asked for, never a wider one; and only what the client is
    # still allowed (an operator's removal ends it at the next refresh).
    granted = scopes_still_granted(client=ctx.client, granted=grant.scope_list)
    ctx.scopes = requested_scopes(ctx, within=granted, default=granted)
    ctx.resources = narrowed_resources(ctx, granted=list(grant.resource or []))
    ctx.user = grant.user
    ctx.grant = grant
    storage.refresh_token_use(live, now=ctx.now)
    return issuance.token_response(ctx, with_refresh_token=True, with_id_token=True)
