"""Signing-key gauges, computed when /metrics is scraped: right in every process, one query each time.

They read the key rows themselves, not a worker's cached key ring, which may lag a rotation by
SIGNET_KEY_RELOAD_SECONDS and would decrypt keys to judge them.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from keys import clock
from keys.models import SigningKey

log = logging.getLogger("signet.metrics")
State = SigningKey.State


@dataclass(frozen=True)
class KeyRingFigures:
    active: bool
    active_age_seconds: float | None
    rotation_due_in_seconds: float | None  # negative: overdue
    retired_published: int


def rotation_due_at(active, nxt, now):
    """The first moment keys.services.rotation_due(active, nxt, moment) holds, never before `now`
    for a ring without a next key (maintenance publishes one first, and it waits its pre-publication).
    """
    age_limit = (active.activated_at or active.created_at) + timedelta(days=settings.SIGNET_KEY_ROTATION_DAYS)
    prepublish = timedelta(seconds=settings.SIGNET_KEY_PREPUBLISH_SECONDS)
    published = nxt.created_at if nxt is not None else now
    return max(age_limit, published + prepublish)


def key_ring_figures(keys, now):
    """The gauges' values for these SigningKey rows (or anything with their fields) at `now`."""
    active = next((k for k in keys if k.state == State.ACTIVE), None)
    nexts = sorted((k for k in keys if k.state == State.NEXT), key=lambda k: k.created_at)
    # Published as keys.selectors.LoadedKey.published_at decides: until its tokens have all expired.
    retired = sum(
        1 for k in keys if k.state == State.RETIRED and (k.retain_until is None or now <= k.retain_until)
    )
    if active is None:
        return KeyRingFigures(False, None, None, retired)
    age = (now - (active.activated_at or active.created_at)).total_seconds()
    due_in = (rotation_due_at(active, nexts[0] if nexts else None, now) - now).total_seconds()
    return KeyRingFigures(True, age, due_in, retired)


class KeyRingCollector(Collector):
    """Yields the signing-key gauges; none when the database cannot be read (the scrape still answers)."""

    def collect(self):
        fields = ("state", "created_at", "activated_at", "retain_until")
        try:
            # The RS256 keys, which every deployment has: with ES256 or EdDSA configured too, another
            # algorithm's active key must not stand in for them (one active key per algorithm).
            keys = list(
                SigningKey.objects.filter(
                    alg="RS256", state__in=(State.NEXT, State.ACTIVE, State.RETIRED)
                ).only(*fields)
            )
        except DatabaseError:
            log.warning("signing-key gauges left out: the key ring could not be read", exc_info=True)
            return
        figures = key_ring_figures(keys, clock.now())
        yield GaugeMetricFamily(
            "signet_signing_key_active",
            "1 when the key ring has an active signing key.",
            value=int(figures.active),
        )
        if figures.active:
            yield GaugeMetricFamily(
                "signet_signing_key_age_seconds",
                "Seconds since the active signing key started signing.",
                value=figures.active_age_seconds,
            )
            yield GaugeMetricFamily(
                "signet_signing_key_rotation_due_in_seconds",
                "Seconds until the scheduled rotation falls due (negative: overdue).",
                value=figures.rotation_due_in_seconds,
            )
        yield GaugeMetricFamily(
            "signet_signing_keys_retired_published",
            "Retired keys still in the JWKS because tokens they signed may not have expired.",
            value=figures.retired_published,
        )

    def describe(self):
        return []
