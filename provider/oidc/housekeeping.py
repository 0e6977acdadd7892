"""Purge of expired codes, tokens, refresh families and registration tokens, in short batches.

Every batch reads at most `batch_size` primary keys, then deletes exactly those rows in its own
short transaction, so purging a million rows never holds a long lock on a token table and runs
safely next to live traffic. What is kept: anything that can still be used, and every revoked
refresh token of a family that is still alive (reuse detection needs them).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from . import lifetimes
from .models import (
    AuthorizationCode,
    Client,
    ClientAssertionJti,
    DeviceAuthorization,
    InitialAccessToken,
    RevokedAccessToken,
    TokenFamily,
)

log = logging.getLogger("signet.housekeeping")


def _delete_in_batches(queryset, *, batch_size, on_batch=None, name=""):
    """Delete every row of `queryset`, `batch_size` rows per statement; return how many went."""
    model = queryset.model
    total = 0
    while True:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return total
        with transaction.atomic():
            _count, per_model = model.objects.filter(pk__in=pks).delete()
        deleted = per_model.get(model._meta.label, 0)
        total += deleted
        if on_batch is not None:
            on_batch(name, deleted)
        if len(pks) < batch_size:
            return total


def _idle_expired_refresh_tokens(now):
    """Live refresh tokens past their client's idle lifetime (refresh.refresh_token_expired): issued
    more than the access-token lifetime plus the idle lifetime ago, each client with its own."""
    refresh_tokens = get_refresh_token_model().objects.filter(revoked__isnull=True)
    overrides = set(
        Client.objects.exclude(refresh_token_lifetime__isnull=True, access_token_lifetime__isnull=True)
        .values_list("access_token_lifetime", "refresh_token_lifetime")
        .distinct()
    )

    def issued_before(client):
        window = timedelta(seconds=lifetimes.access_token_lifetime(client))
        return now - window - lifetimes.refresh_token_idle_lifetime(client)

    query = Q(
        application__refresh_token_lifetime__isnull=True,
        application__access_token_lifetime__isnull=True,
        created__lte=issued_before(None),
    )
    for access, idle in overrides:
        client = Client(access_token_lifetime=access, refresh_token_lifetime=idle)
        query |= Q(
            application__access_token_lifetime=access,
            application__refresh_token_lifetime=idle,
            created__lte=issued_before(client),
        )
    return refresh_tokens.filter(query)


def tokens_purge(*, now=None, batch_size=None, on_batch=None):
    """Delete what can no longer be used; return {kind: rows deleted}. Safe to run at any time."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SIGNET_PURGE_BATCH_SIZE
    refresh_tokens = get_refresh_token_model().objects
    dead_families = TokenFamily.objects.filter(expires_at__lte=now).values("family")
    longest = now - lifetimes.refresh_family_lifetime([lifetimes.OFFLINE_ACCESS])
    steps = [
        ("authorization_codes", AuthorizationCode.objects.filter(expires__lte=now)),
        # Expired device requests, answered or not: a device code past its end obtains nothing.
        ("device_authorizations", DeviceAuthorization.objects.filter(expires_at__lte=now)),
        # Families past their absolute deadline: every member, live or revoked.
        ("refresh_tokens_of_ended_families", refresh_tokens.filter(token_family__in=dead_families)),
        ("idle_refresh_tokens", _idle_expired_refresh_tokens(now)),
        # Revoked longer ago than any family may live: reuse detection no longer needs them.
        ("revoked_refresh_tokens", refresh_tokens.filter(revoked__lte=longest)),
        ("token_families", TokenFamily.objects.filter(expires_at__lte=now)),
        # An access token revoked at /revoke stays denied only until it would have expired anyway.
        ("revoked_access_tokens", RevokedAccessToken.objects.filter(expires_at__lte=now)),
        # A client assertion's jti guards against replay only until the assertion expires.
        ("client_assertion_jtis", ClientAssertionJti.objects.filter(expires_at__lte=now)),
        # An initial access token registers one client before it expires; used or expired, it can
        # register none. The client.registered audit event keeps which token made which client.
        (
            "initial_access_tokens",
            InitialAccessToken.objects.filter(Q(expires_at__lte=now) | Q(used_at__isnull=False)),
        ),
        # Rows of access and ID tokens from before they were self-contained: nothing reads them.
        ("stored_access_tokens", get_access_token_model().objects.all()),
        ("stored_id_tokens", get_id_token_model().objects.all()),
    ]
    report = {}
    for name, queryset in steps:
        report[name] = _delete_in_batches(queryset, batch_size=batch_size, on_batch=on_batch, name=name)
        log.info("purged %s %s", report[name], name)
    return report
