"""AuditEvent.client_id holds the longest client id Signet accepts, whole, on SQLite and PostgreSQL;
anything longer (only a request can make one up) is cut to fit rather than losing the event."""

import pytest
import requests

from provider.audit import audit
from provider.audit.models import AuditEvent
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db(transaction=True)

LONGEST = Client._meta.get_field("client_id").max_length


def longest_client():
    from provider.oidc.services import client_create

    # Not a single repeated letter: a cut anywhere would show.
    client_id = ("signet-long-client-id-" * 20)[: LONGEST - 3] + "end"
    client, secret = client_create(
        name="Long id", client_type="confidential", grant="client-credentials", client_id=client_id
    )
    assert len(client.client_id) == LONGEST
    return client, secret


def test_the_column_is_as_long_as_a_client_id():
    # SQLite stores any length in a varchar: this is what catches a shorter column there.
    assert AuditEvent._meta.get_field("client_id").max_length == LONGEST


def test_an_event_for_the_longest_client_id_is_stored_whole(db):
    client, _secret = longest_client()
    audit("client.updated", client_id=client.client_id, fields=["name"])
    event = AuditEvent.objects.get(event="client.updated")
    assert event.client_id == client.client_id
    assert "client_id_truncated" not in event.data


def test_a_failed_authentication_of_the_longest_client_id_is_stored_whole(issuer):
    client, _secret = longest_client()
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "not-the-secret"),
        timeout=10,
    )
    assert response.status_code == 401, response.text
    event = AuditEvent.objects.get(event="client.authentication_failed")
    assert event.client_id == client.client_id


def test_a_longer_made_up_client_id_is_cut_to_fit_not_lost(issuer):
    presented = "x" * 1000  # plausible_identifier looks such an id up; no client can have it
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(presented, "whatever"),
        timeout=10,
    )
    assert response.status_code == 401, response.text
    event = AuditEvent.objects.get(event="client.authentication_failed")
    assert event.client_id == presented[:LONGEST]
    assert event.data["client_id_truncated"] is True
