"""Clients by client_id, kept in each worker for SIGNET_CLIENT_CACHE_SECONDS.

Every token, introspection and revocation request starts by authenticating its client: one SELECT
whose ORM cost was a fifth of a client_credentials request (bench/README.md). Introspection and
userinfo read a token's client with its grant instead, so a disabled client shows there at once.
Clients change rarely. A change saved in this process is seen at once (post_save and post_delete,
and again when the change commits); one saved in another worker or instance within the cache
lifetime. 0 turns it off.

The ids of the groups a client is restricted to are kept the same way (and forgotten whenever
either side of that relation changes, or a group is deleted).

Unknown client_ids are not remembered, so made-up ids cannot fill the memory; the cache holds at
most MAX_ENTRIES clients and starts over when full.
"""

import copy
import threading
import time

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import Client

MAX_ENTRIES = 4096

_lock = threading.Lock()
_entries = {}  # ("client_id", value) -> (monotonic deadline, Client); ("groups", pk) -> (deadline, ids)
_generation = 0  # bumped by clear(): a row read before a clear is not kept after it


def client_get(client_id):
    """The Client with this client_id (active or not), or None; a copy the caller may change."""
    return _cached("client_id", client_id)


def allowed_group_ids(client):
    """The ids of the groups whose members alone may use `client` (access_policy.py); empty: anyone.

    Kept like the client itself, so a client open to everyone costs no query on the hot path.
    """
    lifetime = settings.SIGNET_CLIENT_CACHE_SECONDS
    now = time.monotonic()
    entry = _entries.get(("groups", client.pk))
    if entry is not None and entry[0] > now:
        return entry[1]
    generation = _generation
    ids = frozenset(
        Client.allowed_groups.through.objects.filter(client_id=client.pk).values_list("group_id", flat=True)
    )
    if lifetime > 0:
        with _lock:
            if generation == _generation:
                if len(_entries) >= MAX_ENTRIES:
                    _entries.clear()
                _entries[("groups", client.pk)] = (now + lifetime, ids)
    return ids


def client_shared(client_id):
    """As client_get, but the cached instance itself: for callers that only read it (no copy's cost)."""
    return _cached("client_id", client_id, shared=True)


def _cached(field, value, shared=False):
    lifetime = settings.SIGNET_CLIENT_CACHE_SECONDS
    now = time.monotonic()
    entry = _entries.get((field, value))
    if entry is not None and entry[0] > now:
        return entry[1] if shared else copy.copy(entry[1])
    generation = _generation
    client = Client.objects.filter(**{field: value}).first()
    if client is not None and lifetime > 0:
        with _lock:
            if generation != _generation:
                return client  # a client changed while this row was read: it may be the old one
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[(field, value)] = (now + lifetime, copy.copy(client))
    return client


def clear():
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


@receiver(post_save, sender=Client, dispatch_uid="signet_client_cache_save")
@receiver(post_delete, sender=Client, dispatch_uid="signet_client_cache_delete")
@receiver(m2m_changed, sender=Client.allowed_groups.through, dispatch_uid="signet_client_cache_groups")
@receiver(post_delete, sender=Group, dispatch_uid="signet_client_cache_group_delete")
def _forget(sender, instance, **kwargs):
    # All of them: the client_id itself may have changed. Once now, for this transaction's own
    # reads, and once more at commit: until then other threads still read the old row, and one
    # read in between must not be served for a whole cache lifetime after the change is visible.
    clear()
    transaction.on_commit(clear, robust=True)
