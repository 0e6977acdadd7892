"""Refresh-token families: start, expiry rules and revocation (RFC 6749 6, RFC 9700 4.14).

DOT rotates refresh tokens and links each generation to its predecessor by `token_family`;
TokenFamily holds what the family needs beyond that: the sign-in's auth_time, sid and acr, an absolute
deadline, and the code it was exchanged for.
"""

import hashlib

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from provider.audit import audit

from . import lifetimes
from .models import TokenFamily


def checksum(value):
    """The SHA-256 hex digest DOT stores instead of a token (and Signet instead of a used code)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def family_start(
    *,
    refresh_token,
    client,
    user,
    scopes,
    auth_time=None,
    sid="",
    acr="",
    id_token_claims=None,
    code=None,
    now=None,
):
    """Record a new family for the first refresh token of a sign-in (code or password exchange)."""
    now = now or timezone.now()
    offline = lifetimes.OFFLINE_ACCESS in (scopes or ())
    return TokenFamily.objects.create(
        family=refresh_token.token_family,
        client=client,
        user=user,
        code_checksum=checksum(code) if code else None,
        auth_time=auth_time,
        sid=sid or "",
        acr=acr or "",
        id_token_claims=id_token_claims,
        offline=offline,
        expires_at=now + lifetimes.refresh_family_lifetime(scopes),
    )


def refresh_token_expired(*, refresh_token, client, family, now=None):
    """True once a live refresh token may no longer be used.

    Idle: its latest access token expired more than the client's idle lifetime ago (DOT slides
    the same window, but only with one global lifetime). Absolute: its family's deadline passed.
    """
    now = now or timezone.now()
    access_token = refresh_token.access_token
    if access_token is None:
        return True  # an orphan: its access token was revoked out of band
    if access_token.expires + lifetimes.refresh_token_idle_lifetime(client) <= now:
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
    """Revoke every refresh token of a family, delete every access token issued from it, audit `event`.

    `event=None` leaves the audit to a caller that ends many families at once and records them as one.
    """
    if family is None:
        return
    get_refresh_token_model().revoke_family(family)  # DOT: set-based, refresh then access tokens
    TokenFamily.objects.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    if event is not None:
        audit(event, actor=actor, client_id=client_id, token_family=str(family))
