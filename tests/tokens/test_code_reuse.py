"""Authorization codes are single-use (RFC 6749 4.1.2), also under simultaneous exchanges."""

import pytest
import requests
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from provider.audit.models import AuditEvent
from tests.tokens.conftest import exchange, introspect, mint_code, refresh
from tests.tokens.test_refresh_concurrency import N, race

pytestmark = pytest.mark.django_db(transaction=True)


def test_reused_code_is_refused_and_revokes_the_tokens_issued_from_it(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid offline_access")
    first = exchange(issuer, client, secret, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    second = refresh(issuer, client, secret, tokens["refresh_token"]).json()  # the family grows

    again = exchange(issuer, client, secret, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"

    assert introspect(issuer, second["access_token"], (client.client_id, secret)).json() == {"active": False}
    userinfo = requests.get(
        f"{issuer}/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"}, timeout=10
    )
    assert userinfo.status_code == 401
    assert refresh(issuer, client, secret, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert not get_refresh_token_model().objects.filter(application=client, revoked__isnull=True).exists()
    assert AuditEvent.objects.filter(event="token.code_reuse", client_id=client.client_id).count() == 1


def test_a_code_cannot_be_used_by_another_client(issuer, rp_client, make_client, user):
    client, secret = rp_client
    other, other_secret = make_client()
    code, verifier = mint_code(client, user)
    assert exchange(issuer, other, other_secret, code, verifier).json()["error"] == "invalid_grant"
    assert exchange(issuer, client, secret, code, verifier).status_code == 200


@pytest.mark.postgres
def test_simultaneous_exchanges_of_one_code_give_one_success(issuer, rp_client, user):
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid offline_access")
    responses = race(N, lambda: exchange(issuer, client, secret, code, verifier))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (N - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    # One exchange minted tokens; the later ones were reuse and revoked them.
    assert get_refresh_token_model().objects.filter(application=client).count() == 1
    assert not get_refresh_token_model().objects.filter(application=client, revoked__isnull=True).exists()
    assert not get_access_token_model().objects.filter(application=client).exists()
