"""provider/oidc/client_cache.py: a worker keeps the clients it loaded for SIGNET_CLIENT_CACHE_SECONDS."""

import pytest

from provider.oidc import client_cache
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(client_cache.time, "monotonic", clock)
    return clock


@pytest.fixture
def client(rp_client, settings):
    settings.SIGNET_CLIENT_CACHE_SECONDS = 5
    return rp_client[0]


def test_a_loaded_client_is_served_from_memory(client, clock, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = client_cache.client_get(client.client_id)
        second = client_cache.client_get(client.client_id)
    assert first.pk == second.pk == client.pk


def test_callers_get_copies(client, clock):
    first = client_cache.client_get(client.client_id)
    first.name = "changed by one request"
    assert client_cache.client_get(client.client_id).name == client.name


def test_a_change_saved_in_this_process_is_seen_at_once(client, clock):
    assert client_cache.client_get(client.client_id).is_active
    client.is_active = False
    client.save(update_fields=["is_active", "updated"])
    assert not client_cache.client_get(client.client_id).is_active
    client.delete()
    assert client_cache.client_get(client.client_id) is None


def test_a_change_made_elsewhere_is_seen_within_the_lifetime(client, clock):
    assert client_cache.client_get(client.client_id).is_active
    # Another worker's save: this process receives no signal.
    Client.objects.filter(pk=client.pk).update(is_active=False)
    clock.now += 4.9
    assert client_cache.client_get(client.client_id).is_active
    clock.now += 0.2
    assert not client_cache.client_get(client.client_id).is_active


def test_zero_turns_the_cache_off(client, clock, settings, django_assert_num_queries):
    settings.SIGNET_CLIENT_CACHE_SECONDS = 0
    with django_assert_num_queries(2):
        client_cache.client_get(client.client_id)
        client_cache.client_get(client.client_id)


def test_unknown_client_ids_are_not_remembered(db, clock, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert client_cache.client_get("made-up") is None
        assert client_cache.client_get("made-up") is None
    assert client_cache._entries == {}


def test_a_disabled_client_is_refused_at_once_by_the_token_endpoint(issuer, make_client):
    import requests

    client, secret = make_client(grant="client-credentials")
    token = f"{issuer}/token"
    data = {"grant_type": "client_credentials"}
    assert requests.post(token, data=data, auth=(client.client_id, secret), timeout=30).status_code == 200
    client.is_active = False
    client.save(update_fields=["is_active", "updated"])
    refused = requests.post(token, data=data, auth=(client.client_id, secret), timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
