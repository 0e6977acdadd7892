"""Purge of expired codes, tokens and families: what goes, what stays, and in small batches."""

import json
import math
import secrets
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from provider.oidc.housekeeping import tokens_purge
from provider.oidc.models import AuthorizationCode, TokenFamily
from tests.tokens.conftest import mint_code

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()


def _pair(client, user, *, expires, family=None, revoked=None, refresh=True):
    access = AccessToken.objects.create(
        user=user,
        application=client,
        token="",
        token_checksum=secrets.token_hex(32),
        expires=expires,
        scope="openid",
    )
    if not refresh:
        return access, None
    rt = RefreshToken.objects.create(
        user=user,
        application=client,
        token="",
        token_checksum=secrets.token_hex(32),
        access_token=None if revoked else access,
        token_family=family,
        revoked=revoked,
    )
    if revoked:
        access.delete()
    return access, rt


def _family(client, user, *, expires_at):
    return TokenFamily.objects.create(family=uuid.uuid4(), client=client, user=user, expires_at=expires_at)


def test_purge_deletes_what_cannot_be_used_and_keeps_the_rest(rp_client, user):
    client, _secret = rp_client
    now = timezone.now()
    # Codes: one expired, one live.
    mint_code(client, user)
    AuthorizationCode.objects.update(expires=now - timedelta(seconds=1))
    live_code, _ = mint_code(client, user)

    live_family = _family(client, user, expires_at=now + timedelta(days=1))
    ended_family = _family(client, user, expires_at=now - timedelta(seconds=1))
    # A live family: a rotated (revoked) member kept for reuse detection, and its current pair whose
    # access token expired an hour ago (inside the idle window).
    _, kept_revoked = _pair(
        client, user, expires=now, family=live_family.family, revoked=now - timedelta(hours=1)
    )
    kept_access, kept_current = _pair(
        client, user, expires=now - timedelta(hours=1), family=live_family.family
    )
    # An ended family: every refresh token goes; its last access token lives out its own few minutes.
    last_access, gone_current = _pair(
        client, user, expires=now + timedelta(minutes=5), family=ended_family.family
    )
    # Idle past the 30-day default; an orphan; a revoked token older than any family can live.
    _, idle = _pair(client, user, expires=now - timedelta(days=31))
    _, orphan = _pair(client, user, expires=now + timedelta(minutes=5))
    AccessToken.objects.filter(pk=orphan.access_token_id).delete()
    _, ancient = _pair(client, user, expires=now, revoked=now - timedelta(days=91))
    # Access tokens without refresh tokens (client credentials): expired goes, live stays.
    expired_access, _ = _pair(client, user, expires=now - timedelta(seconds=1), refresh=False)
    live_access, _ = _pair(client, user, expires=now + timedelta(minutes=5), refresh=False)
    IDToken.objects.create(user=user, application=client, expires=now - timedelta(seconds=1), scope="openid")

    report = tokens_purge(now=now)

    assert list(AuthorizationCode.objects.values_list("code", flat=True)) == [live_code]
    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {kept_revoked.pk, kept_current.pk}
    assert set(AccessToken.objects.values_list("pk", flat=True)) == {
        kept_access.pk,
        live_access.pk,
        last_access.pk,
    }
    assert not IDToken.objects.exists()
    assert list(TokenFamily.objects.all()) == [live_family]
    assert report["authorization_codes"] == 1
    assert report["refresh_tokens_of_ended_families"] == 1
    assert report["idle_refresh_tokens"] == 1
    assert report["orphaned_refresh_tokens"] == 1
    assert report["revoked_refresh_tokens"] == 1
    assert report["token_families"] == 1
    assert not AccessToken.objects.filter(pk=expired_access.pk).exists()
    assert not RefreshToken.objects.filter(pk__in=[idle.pk, orphan.pk, ancient.pk, gone_current.pk]).exists()


def test_per_client_idle_lifetime_applies_to_the_purge(rp_client, user):
    client, _secret = rp_client
    client.refresh_token_lifetime = 60 * 60
    client.save()
    now = timezone.now()
    _, short_idle = _pair(client, user, expires=now - timedelta(hours=2))
    tokens_purge(now=now)
    assert not RefreshToken.objects.filter(pk=short_idle.pk).exists()


def test_purge_works_in_batches_of_the_configured_size(rp_client, user, settings):
    client, _secret = rp_client
    now = timezone.now()
    rows = 23
    AccessToken.objects.bulk_create(
        AccessToken(
            user=user,
            application=client,
            token="",
            token_checksum=secrets.token_hex(32),
            expires=now - timedelta(minutes=1),
            scope="openid",
        )
        for _ in range(rows)
    )
    settings.SIGNET_PURGE_BATCH_SIZE = 5
    batches = []
    report = tokens_purge(now=now, on_batch=lambda name, count: batches.append((name, count)))
    access_batches = [count for name, count in batches if name == "access_tokens"]
    assert report["access_tokens"] == rows
    assert len(access_batches) == math.ceil(rows / 5)
    assert max(access_batches) == 5
    assert not AccessToken.objects.exists()


def test_management_command(rp_client, user):
    client, _secret = rp_client
    mint_code(client, user)
    AuthorizationCode.objects.update(expires=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("purge_tokens", "--json", "--batch-size", "2", stdout=out)
    assert json.loads(out.getvalue())["authorization_codes"] == 1
    assert not AuthorizationCode.objects.exists()
