"""What `clients rotate-secret` and `clients disable` do to a client's tokens, seen over real HTTP.

The live server runs in this process, so its client cache is the one the command's save clears: a
rotated secret works, and the old one stops, with the very next request even with a long cache
lifetime (other workers: within SIGNET_CLIENT_CACHE_SECONDS, tests/tokens/test_client_cache.py).
"""

import io
import json

import pytest
import requests
from django.core.management import call_command

from tests.tokens.conftest import exchange, introspect, mint_code, refresh, token

pytestmark = pytest.mark.django_db(transaction=True)
API = "https://api.example.com"


def clients(*args):
    out = io.StringIO()
    call_command("clients", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def client_credentials(issuer, client_id, secret):
    return token(issuer, {"grant_type": "client_credentials"}, auth=(client_id, secret))


@pytest.fixture
def job(settings):
    settings.SIGNET_CLIENT_CACHE_SECONDS = 300  # a cached client must not outlive its secret here
    data = clients(
        "create",
        "--name",
        "Job",
        "--type",
        "confidential",
        "--grant",
        "client-credentials",
        "--audience",
        API,
    )
    return data["client_id"], data["client_secret"]


@pytest.fixture
def resource_server(db):
    """The API the tokens are for, introspecting them under its audience URI as its client id."""
    data = clients(
        "create",
        "--name",
        "API",
        "--type",
        "confidential",
        "--grant",
        "client-credentials",
        "--client-id",
        API,
    )
    return data["client_id"], data["client_secret"]


def test_a_rotated_secret_works_at_once_and_the_old_one_stops(issuer, job):
    client_id, old = job
    assert client_credentials(issuer, client_id, old).status_code == 200  # now cached
    new = clients("rotate-secret", client_id)["client_secret"]
    refused = client_credentials(issuer, client_id, old)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert client_credentials(issuer, client_id, new).status_code == 200


def test_a_disabled_clients_tokens_stop_at_once_and_it_gets_no_new_ones(
    issuer, rp_client, user, job, resource_server
):
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid profile offline_access")
    signed_in = exchange(issuer, client, secret, code, verifier).json()
    own = client_credentials(issuer, *job).json()["access_token"]
    bearer = {"Authorization": f"Bearer {signed_in['access_token']}"}
    assert introspect(issuer, signed_in["access_token"], resource_server).json()["active"] is True
    assert introspect(issuer, own, resource_server).json()["active"] is True

    clients("disable", client.client_id)
    clients("disable", job[0])
    assert introspect(issuer, signed_in["access_token"], resource_server).json() == {"active": False}
    assert introspect(issuer, own, resource_server).json() == {"active": False}
    assert requests.get(f"{issuer}/userinfo", headers=bearer, timeout=10).status_code == 401
    refused = refresh(issuer, client, secret, signed_in["refresh_token"])
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert client_credentials(issuer, *job).status_code == 401

    clients("enable", job[0])
    assert client_credentials(issuer, *job).status_code == 200
