"""The device authorization grant's token request (RFC 8628 3.4, 3.5): the device polls with its code.

The request's row is locked for the transaction: of N simultaneous polls of an approved code, one
marks it used and gets tokens, the others find it used. Polls of a pending request are recorded, so
a device that polls faster than its interval is told slow_down and its interval grows.
"""

from .. import device, issuance, refresh
from ..access_policy import NOT_ALLOWED, user_may_use
from ..client_authentication import plausible_identifier
from ..consent import consent_covers, scopes_still_granted
from ..errors import OAuthError, invalid_grant, invalid_request
from ..models import Client, DeviceAuthorization
from .rules import narrowed_resources

GRANT_TYPE = Client.GRANT_DEVICE_CODE  # urn:ietf:params:oauth:grant-type:device_code
CLIENT_GRANTS = (Client.GRANT_DEVICE_CODE,)
ATOMIC = True


def issue(ctx):
    value = ctx.param("device_code")
    if value is None:
        raise invalid_request("The device_code parameter is missing.")
    row = device.device_authorization_take(value) if plausible_identifier(value) else None
    if row is None or row.client_id != ctx.client.pk:
        # Another client's device code is as unknown as a made-up one.
        raise invalid_grant("The device code is invalid.")
    now = device.clock()
    check_not_used(row)
    check_not_expired(row, now)
    check_not_denied(row)
    check_approved(row, now)
    user = row.user
    if user is None or not user.is_active:
        raise invalid_grant("The user's account is disabled.")
    check_consent_not_revoked(row, user, ctx.client)
    if not user_may_use(ctx.client, user):
        # Outside the client's allowed groups (or taken out of them since approving): RFC 8628 3.5's
        # access_denied, and the device code stays unused, giving nothing.
        raise OAuthError("access_denied", NOT_ALLOWED)
    device.device_authorization_use(row)
    ctx.user = user
    ctx.scopes = scopes_still_granted(client=ctx.client, granted=row.scope_list)
    granted_resources = list(row.resource or [])
    ctx.resources = narrowed_resources(ctx, granted=granted_resources)
    ctx.grant = refresh.family_start(
        client=ctx.client,
        user=user,
        scopes=ctx.scopes,
        resources=granted_resources,
        auth_time=row.auth_time,
        sid=row.sid,
        acr=row.acr,
        amr=row.amr,
        now=ctx.now,
    )
    return issuance.token_response(ctx, with_refresh_token=True, with_id_token=True)


def check_not_used(row):
    # RFC 8628 3.5 / RFC 6749 5.2: a device code already exchanged is an invalid grant.
    if row.status == DeviceAuthorization.USED:
        raise invalid_grant("The device code was already used.")


def check_not_expired(row, now):
    # RFC 8628 3.5: expired_token once the device code has expired; the device must start over.
    if row.expires_at <= now:
        raise OAuthError("expired_token", "The device code has expired; start a new device authorization.")


def check_not_denied(row):
    # RFC 8628 3.5: access_denied when the user refused.
    if row.status == DeviceAuthorization.DENIED:
        raise OAuthError("access_denied", "The user denied the request.")


def check_consent_not_revoked(row, user, client):
    # The approval is the user's consent (device.device_authorization_decide records it): revoked on
    # the account page before the device polled, it gives nothing.
    if not consent_covers(user=user, client=client, scopes=row.scope_list):
        raise OAuthError("access_denied", "The user revoked this device's access.")


def check_approved(row, now):
    """RFC 8628 3.5: authorization_pending while the user has not answered; slow_down when the device
    polls sooner than its interval allows (and the interval grows by 5 seconds)."""
    if row.status == DeviceAuthorization.APPROVED:
        return
    if device.device_authorization_polled(row, now=now):
        raise OAuthError(
            "slow_down", f"Polling too fast: wait at least {row.interval} seconds between requests."
        )
    raise OAuthError("authorization_pending", "The user has not yet approved the request.")
