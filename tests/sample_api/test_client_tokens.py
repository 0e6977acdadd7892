"""The sample API tells a client's own token from a user's (issue 14, finding 11).

A client-credentials token speaks for its client alone: `sub` is the client id and there is no
`auth_time`, since nobody signed in (RFC 9068 5, RFC 9700 4.15). `/me/` describes a user and must
not present such a token as one, even when the client's id equals a user's UUID (a client
registered before Signet refused such ids).
"""

import pytest

from sample_api.authentication import TokenUser, is_client_token
from tests.sample_api.conftest import AUDIENCE
from tests.sample_api.tokens import api_client, client_credentials_token, code_flow_tokens
from tests.tokens.conftest import unverified

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "https://rp.example.com/callback"
READ = "notes:read"  # an API scope both a client and a user can be given


@pytest.fixture
def api(sample_api_factory, settings):
    settings.SIGNET_SCOPES = {**settings.SIGNET_SCOPES, READ: "Read your notes"}
    return sample_api_factory(RESOURCE_READ_SCOPE=READ, RESOURCE_JWKS_COOLDOWN=0)


def test_a_client_token_is_not_shown_as_a_user_at_me(issuer, api, browser, user):
    from provider.oidc.models import Client
    from provider.oidc.services import client_create

    # A client whose id is alice's UUID, as could be registered before the rule: its own token
    # carries that UUID as `sub`, exactly like alice's tokens.
    impostor, secret = api_client(AUDIENCE, scopes=[READ], name="Impostor")
    Client.objects.filter(pk=impostor.pk).update(client_id=str(user.pk))
    impostor.client_id = str(user.pk)
    client_token = client_credentials_token(issuer, impostor, secret, scope=READ)
    claims = unverified(client_token)
    assert claims["sub"] == claims["client_id"] == str(user.pk)
    assert "auth_time" not in claims  # Signet's client-credentials tokens (provider/oidc/tokens.py)

    refused = api.get("/me/", client_token)
    assert refused.status_code == 403, refused.text
    assert "user" in refused.json()["detail"]
    assert api.get("/hello/", client_token).status_code == 200  # a client may still call the API

    rp, rp_secret = client_create(
        name="RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        audiences=[AUDIENCE],
        scopes=["openid", READ],
    )
    user_token = code_flow_tokens(browser, issuer, user, rp, rp_secret, REDIRECT_URI, scope=f"openid {READ}")
    me = api.get("/me/", user_token["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == str(user.pk) and "auth_time" in me.json()


@pytest.mark.parametrize(
    ("claims", "is_client"),
    [
        ({"sub": "svc", "client_id": "svc"}, True),
        ({"sub": "svc", "client_id": "svc", "auth_time": 1700000000}, False),
        ({"sub": "6f1c2a4e-8b3d-4c5e-9a7f-0123456789ab", "client_id": "svc", "auth_time": 1700000000}, False),
        ({"sub": "6f1c2a4e-8b3d-4c5e-9a7f-0123456789ab", "client_id": "svc"}, False),
    ],
)
def test_token_user_says_whether_a_client_or_a_user_is_calling(claims, is_client):
    assert is_client_token(claims) is is_client
    assert TokenUser(claims).is_client is is_client
