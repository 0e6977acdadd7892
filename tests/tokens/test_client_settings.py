"""Operators set a client's token lifetimes, identity claims and the password grant from the CLI."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from provider.oidc.models import Client

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("clients", *args, stdout=out)
    return out.getvalue()


def test_lifetimes_identity_claims_and_audiences_from_the_cli():
    row = json.loads(
        run(
            "create",
            "--name",
            "Mobile app",
            "--type",
            "public",
            "--grant",
            "password",
            "--audience",
            "https://api.example.com",
            "--access-token-lifetime",
            "300",
            "--id-token-lifetime",
            "120",
            "--refresh-token-lifetime",
            "86400",
            "--identity-claims",
            "--json",
        )
    )
    client = Client.objects.get(client_id=row["client_id"])
    assert client.authorization_grant_type == Client.GRANT_PASSWORD
    assert (client.access_token_lifetime, client.id_token_lifetime, client.refresh_token_lifetime) == (
        300,
        120,
        86400,
    )
    assert client.identity_claims_in_access_token is True
    assert client.audience_list == ["https://api.example.com"]
    assert row["access_token_lifetime"] == 300 and row["identity_claims"] is True


def test_defaults_and_bad_lifetimes():
    row = json.loads(
        run("create", "--name", "RP", "--type", "confidential", "--grant", "client-credentials", "--json")
    )
    client = Client.objects.get(client_id=row["client_id"])
    assert client.access_token_lifetime is None and client.identity_claims_in_access_token is False
    with pytest.raises(CommandError, match="access_token_lifetime"):
        run(
            "create", "--name", "X", "--type", "public", "--grant", "password", "--access-token-lifetime", "0"
        )
