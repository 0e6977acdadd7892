"""Grants and their refresh tokens: start, rotation, expiry rules and revocation (RFC 6749 6, RFC 9700 4.14).

A grant (TokenFamily) is what one sign-in gave one client. Its refresh tokens are DOT's RefreshToken
rows, stored as checksums only and linked by `token_family`; each refresh marks the presented one used
and adds its successor. Access tokens are not stored: they name the grant and end with it.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from provider.audit import audit

from . import lifetimes, storage
from .models import TokenFamily


def checksum(value):
    """The SHA-256 hex digest stored instead of a refresh token (and instead of a used code)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def family_start(
    *,
    client,
    user,
    scopes,
    resources=(),
    auth_time=None,
    sid="",
    acr="",
    amr=(),
    id_token_claims=None,
    userinfo_claims=None,
    code=None,
    now=None,
):
    """Record a new grant for a code or password exchange."""
    now = now or timezone.now()
    grant = TokenFamily(
        family=uuid.uuid4(),
        client=client,
        user=user,
        code_checksum=checksum(code) if code else None,
        scope=" ".join(scopes),
        resource=list(resources),
        auth_time=auth_time,
        sid=sid or "",
        acr=acr or "",
        amr=list(amr or ()),
        id_token_claims=id_token_claims,
        userinfo_claims=userinfo_claims,
        offline=lifetimes.OFFLINE_ACCESS in scopes,
        created_at=now,
        expires_at=now + lifetimes.refresh_family_lifetime(scopes),
    )
    return storage.insert(grant, returning_pk=True)


def refresh_token_issue(*, grant, resources, now=None):
    """(value, row) of a new refresh token of `grant`: the row holds its checksum only."""
    now = now or timezone.now()
    value = secrets.token_urlsafe(32)
    row = get_refresh_token_model()(
        user_id=grant.user_id,
        application_id=grant.client_id,
        token="",  # RFC 9700 token storage: the checksum alone finds it
        token_checksum=checksum(value),
        token_family=grant.family,
        resource=list(resources),
        created=now,
        updated=now,
    )
    return value, storage.insert(row, returning_pk=True)


def refresh_token_expired(*, refresh_token, client, family, now=None):
    """True once a live refresh token may no longer be used.

    Idle: the client's idle lifetime has passed since the access token issued with it expired.
    Absolute: its grant's deadline passed.
    """
    now = now or timezone.now()
    issued_access_token_expired = refresh_token.created + timedelta(
        seconds=lifetimes.access_token_lifetime(client)
    )
    if issued_access_token_expired + lifetimes.refresh_token_idle_lifetime(client) <= now:
        return True
    return family is not None and family_deadline(family=family, client=client) <= now


def family_deadline(*, family, client):
    """The family's absolute end: the one it was given, or the online one (counted from its
    start) once the client is no longer allowed offline_access."""
    if family.offline and lifetimes.OFFLINE_ACCESS not in client.scope_list:
        return min(family.expires_at, family.created_at + lifetimes.refresh_family_lifetime(()))
    return family.expires_at


@transaction.atomic
def family_revoke(*, family, event, client_id=None, actor=None, now=None):
    """End a grant: its refresh tokens, and with the grant every access token that names it; audit `event`.

    `event=None` leaves the audit to a caller that ends many grants at once and records them as one.
    """
    if family is None:
        return
    now = now or timezone.now()
    get_refresh_token_model().objects.filter(token_family=family, revoked__isnull=True).update(revoked=now)
    TokenFamily.objects.filter(family=family, revoked_at__isnull=True).update(revoked_at=now)
    if event is not None:
        audit(event, actor=actor, client_id=client_id, token_family=str(family))
