"""What an operator changes on a client takes effect on the grants it already holds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from provider.oidc import client_cache
from provider.oidc.models import Client, TokenFamily
from tests.tokens.conftest import exchange, mint_code, refresh


@pytest.mark.django_db(transaction=True)
def test_a_client_losing_offline_access_ends_its_long_families_at_the_online_limit(
    issuer, rp_client, user, settings
):
    """Issue 14, finding 3: offline_access removed from the client ends the 90-day families too."""
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid offline_access")
    body = exchange(issuer, client, secret, code, verifier).json()
    # The family began longer ago than the online limit: only offline_access kept it alive.
    started = timezone.now() - timedelta(seconds=settings.SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME + 60)
    TokenFamily.objects.update(created_at=started)
    body = refresh(issuer, client, secret, body["refresh_token"]).json()
    assert "refresh_token" in body, body

    client.allowed_scopes = "openid profile email"
    client.save(update_fields=["allowed_scopes", "updated"])

    refused = refresh(issuer, client, secret, body["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


@pytest.mark.django_db
def test_a_client_read_before_a_change_commits_is_not_kept_after_it(
    rp_client, django_capture_on_commit_callbacks
):
    """Other threads read the old row until the change commits; client_cache forgets it again then."""
    client, _secret = rp_client
    with django_capture_on_commit_callbacks(execute=False) as at_commit:
        client.is_active = False
        client.save(update_fields=["is_active", "updated"])
        assert client_cache.client_get(client.client_id) is not None  # a read before the commit: kept
    for callback in at_commit:
        callback()
    with CaptureQueriesContext(connection) as captured:
        assert client_cache.client_get(client.client_id).is_active is False
    assert len(captured.captured_queries) == 1  # read again, not served from before the commit
    assert Client.objects.get(pk=client.pk).is_active is False


@pytest.mark.django_db
def test_a_row_read_while_a_change_is_saved_is_not_kept(rp_client, settings):
    """A change saved (in another thread) while a worker's read was on its way: that read may be
    the old row, so it answers its own request only and is not cached."""
    client, _secret = rp_client
    settings.SIGNET_CLIENT_CACHE_SECONDS = 5

    def saved_meanwhile(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        client_cache.clear()  # what the post_save receiver does in the other thread
        return result

    with connection.execute_wrapper(saved_meanwhile):
        assert client_cache.client_get(client.client_id) is not None
    with CaptureQueriesContext(connection) as captured:
        client_cache.client_get(client.client_id)
    assert len(captured.captured_queries) == 1
