"""Purge of expired codes, tokens and refresh families, in short batches.

Every batch reads at most `batch_size` primary keys, then deletes exactly those rows in its own
short transaction, so purging a million rows never holds a long lock on a token table and runs
safely next to live traffic. What is kept: anything that can still be used, and every revoked
refresh token of a family that is still alive (reuse detection needs them).
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from . import lifetimes
from .models import AuthorizationCode, Client, TokenFamily

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
    """Live refresh tokens past their client's idle lifetime (lifetimes.refresh_token_idle_lifetime)."""
    refresh_tokens = get_refresh_token_model().objects.filter(revoked__isnull=True)
    overrides = set(
        Client.objects.filter(refresh_token_lifetime__isnull=False).values_list(
            "refresh_token_lifetime", flat=True
        )
    )
    default = lifetimes.refresh_token_idle_lifetime(None)
    query = Q(application__refresh_token_lifetime__isnull=True, access_token__expires__lte=now - default)
    for seconds in overrides:
        idle = lifetimes.refresh_token_idle_lifetime(Client(refresh_token_lifetime=seconds))
        query |= Q(application__refresh_token_lifetime=seconds, access_token__expires__lte=now - idle)
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
        # Families past their absolute deadline: every member, live or revoked.
        ("refresh_tokens_of_ended_families", refresh_tokens.filter(token_family__in=dead_families)),
        ("idle_refresh_tokens", _idle_expired_refresh_tokens(now)),
        # Live but without an access token: revoked out of band, unusable (DOT rejects them).
        ("orphaned_refresh_tokens", refresh_tokens.filter(revoked__isnull=True, access_token__isnull=True)),
        # Revoked longer ago than any family may live: reuse detection no longer needs them.
        ("revoked_refresh_tokens", refresh_tokens.filter(revoked__lte=longest)),
        # Expired and not the current pair of a live refresh token (its idle window runs from it).
        (
            "access_tokens",
            get_access_token_model().objects.filter(expires__lte=now, refresh_token__isnull=True),
        ),
        ("id_tokens", get_id_token_model().objects.filter(expires__lte=now, access_token__isnull=True)),
        ("token_families", TokenFamily.objects.filter(expires_at__lte=now)),
    ]
    report = {}
    for name, queryset in steps:
        report[name] = _delete_in_batches(queryset, batch_size=batch_size, on_batch=on_batch, name=name)
        log.info("purged %s %s", report[name], name)
    return report
