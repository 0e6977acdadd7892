"""A client id is never shaped like a user's identifier (issue 14, finding 11).

A client's own (client-credentials) tokens carry its client id as `sub`; a user's tokens carry the
user's UUID. A client id equal to a user's UUID would pass for that user at a resource server
(RFC 9700 4.15, RFC 9068 5), so the service, the CLI and the admin refuse every spelling uuid.UUID
reads as a UUID, with one message.
"""

import io
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from provider.oidc.models import USER_SHAPED_CLIENT_ID, Client, user_shaped
from provider.oidc.services import client_create

pytestmark = pytest.mark.django_db

SUBJECT = uuid.UUID("6f1c2a4e-8b3d-4c5e-9a7f-0123456789ab")
SPELLINGS = [
    str(SUBJECT),
    str(SUBJECT).upper(),
    SUBJECT.hex,
    "{" + str(SUBJECT) + "}",
    SUBJECT.urn,
    "urn:" + SUBJECT.hex,
]


@pytest.mark.parametrize("client_id", SPELLINGS)
def test_every_spelling_of_a_uuid_is_user_shaped(client_id):
    assert user_shaped(client_id)


@pytest.mark.parametrize(
    "client_id",
    ["signet-demo-client", "https://api.example.com", str(SUBJECT)[:-1], str(SUBJECT) + "0", "", None],
)
def test_other_client_ids_are_not(client_id):
    assert not user_shaped(client_id)


@pytest.mark.parametrize("client_id", SPELLINGS)
def test_the_service_refuses_a_user_shaped_client_id(client_id):
    with pytest.raises(ValidationError) as refused:
        client_create(
            name="Impostor", client_type="confidential", grant="client-credentials", client_id=client_id
        )
    assert refused.value.message_dict == {"client_id": [USER_SHAPED_CLIENT_ID]}
    assert not Client.objects.exists()


def test_the_service_still_accepts_a_resource_servers_audience_uri():
    client, _secret = client_create(
        name="API",
        client_type="confidential",
        grant="client-credentials",
        client_id="https://api.example.com",
    )
    assert client.client_id == "https://api.example.com"


def test_the_cli_refuses_a_users_uuid_as_client_id(user):
    with pytest.raises(CommandError) as refused:
        call_command(
            "clients",
            "create",
            "--name",
            "Impostor",
            "--type",
            "confidential",
            "--grant",
            "client-credentials",
            "--client-id",
            str(user.pk),
            stdout=io.StringIO(),
        )
    assert str(refused.value) == f"client_id: {USER_SHAPED_CLIENT_ID}"
    assert not Client.objects.exists()


@pytest.fixture
def admin_http(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    client.force_login(operator)
    return client


def _admin_form(**overrides):
    return {
        "name": "Batch",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "allowed_scopes": "",
        "audiences": "",
        "is_active": "on",
        **overrides,
    }


def test_the_admin_refuses_a_users_uuid_as_client_id_with_one_clear_error(admin_http, user):
    response = admin_http.post(reverse("admin:oidc_client_add"), _admin_form(client_id=str(user.pk).upper()))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"client_id": [USER_SHAPED_CLIENT_ID]}
    assert not Client.objects.exists()


def test_the_admin_takes_a_chosen_client_id_or_generates_one(admin_http):
    add = reverse("admin:oidc_client_add")
    assert admin_http.post(add, _admin_form(client_id="https://api.example.com")).status_code == 200
    assert Client.objects.filter(client_id="https://api.example.com").exists()
    assert admin_http.post(add, _admin_form(name="Generated")).status_code == 200
    generated = Client.objects.get(name="Generated").client_id
    assert len(generated) >= 32 and not user_shaped(generated)


def test_an_existing_client_with_such_an_id_can_still_be_edited(admin_http):
    # Registered before the rule: its id is fixed and read-only, so editing it stays possible.
    legacy = Client.objects.create(
        name="Legacy",
        client_id=str(SUBJECT),
        client_type="confidential",
        authorization_grant_type="client-credentials",
    )
    change = reverse("admin:oidc_client_change", args=[legacy.pk])
    response = admin_http.post(change, _admin_form(name="Legacy, renamed"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    legacy.refresh_from_db()
    assert legacy.name == "Legacy, renamed"
