"""Purge of expired codes, tokens, families and registration tokens: what goes, what stays, and in
small batches."""

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
from provider.oidc.models import (
    AuthorizationCode,
    ClientAssertionJti,
    DeviceAuthorization,
    InitialAccessToken,
    RevokedAccessToken,
    TokenFamily,
)
from tests.tokens.conftest import mint_code

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()


def _refresh_token(client, user, *, issued, family=None, revoked=None):
    rt = RefreshToken.objects.create(
        user=user,
        application=client,
        token="",
        token_checksum=secrets.token_hex(32),
        token_family=family,
        revoked=revoked,
    )
    RefreshToken.objects.filter(pk=rt.pk).update(created=issued)  # auto_now_add ignores a given value
    return rt


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
    # A live family: a rotated (revoked) member kept for reuse detection, and its current token
    # issued an hour ago (inside the idle window).
    kept_revoked = _refresh_token(
        client,
        user,
        issued=now - timedelta(hours=2),
        family=live_family.family,
        revoked=now - timedelta(hours=1),
    )
    kept_current = _refresh_token(client, user, issued=now - timedelta(hours=1), family=live_family.family)
    # An ended family: every refresh token goes.
    gone_current = _refresh_token(client, user, issued=now, family=ended_family.family)
    # Idle past the 30-day default; a revoked token older than any family can live.
    idle = _refresh_token(client, user, issued=now - timedelta(days=31))
    ancient = _refresh_token(client, user, issued=now - timedelta(days=92), revoked=now - timedelta(days=91))
    # Access tokens revoked at /revoke: denied until they expire, then forgotten.
    RevokedAccessToken.objects.create(jti="expired", expires_at=now - timedelta(seconds=1))
    RevokedAccessToken.objects.create(jti="live", expires_at=now + timedelta(minutes=5))
    # Rows of access and ID tokens stored before tokens were self-contained: nothing reads them.
    AccessToken.objects.create(
        user=user,
        application=client,
        token="",
        token_checksum=secrets.token_hex(32),
        expires=now,
        scope="openid",
    )
    IDToken.objects.create(user=user, application=client, expires=now + timedelta(minutes=5), scope="openid")

    report = tokens_purge(now=now)

    assert list(AuthorizationCode.objects.values_list("code", flat=True)) == [live_code]
    assert set(RefreshToken.objects.values_list("pk", flat=True)) == {kept_revoked.pk, kept_current.pk}
    assert list(TokenFamily.objects.all()) == [live_family]
    assert list(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["live"]
    assert not AccessToken.objects.exists() and not IDToken.objects.exists()
    assert report == {
        "authorization_codes": 1,
        "device_authorizations": 0,
        "refresh_tokens_of_ended_families": 1,
        "idle_refresh_tokens": 1,
        "revoked_refresh_tokens": 1,
        "token_families": 1,
        "revoked_access_tokens": 1,
        "client_assertion_jtis": 0,
        "initial_access_tokens": 0,
        "stored_access_tokens": 1,
        "stored_id_tokens": 1,
    }
    assert not RefreshToken.objects.filter(pk__in=[idle.pk, ancient.pk, gone_current.pk]).exists()


def test_per_client_idle_lifetime_applies_to_the_purge(rp_client, user, make_client):
    client, _secret = rp_client
    client.refresh_token_lifetime = 60 * 60
    client.save()
    other, _other_secret = make_client(access_token_lifetime=3600)
    now = timezone.now()
    # Issued 2 h ago: its access token expired 1 h 50 min ago, past this client's one-hour idle window.
    short_idle = _refresh_token(client, user, issued=now - timedelta(hours=2))
    # The other client's access tokens live an hour: its idle window opens an hour after issue, so
    # a token issued 30 days and 30 minutes ago is still usable (with 10-minute tokens it would not be).
    inside = _refresh_token(other, user, issued=now - timedelta(days=30, minutes=30))
    past = _refresh_token(other, user, issued=now - timedelta(days=30, hours=1, minutes=1))
    tokens_purge(now=now)
    assert not RefreshToken.objects.filter(pk__in=[short_idle.pk, past.pk]).exists()
    assert RefreshToken.objects.filter(pk=inside.pk).exists()


def test_purge_works_in_batches_of_the_configured_size(rp_client, user, settings):
    client, _secret = rp_client
    now = timezone.now()
    rows = 23
    RevokedAccessToken.objects.bulk_create(
        RevokedAccessToken(jti=f"jti-{n}", expires_at=now - timedelta(minutes=1)) for n in range(rows)
    )
    settings.SIGNET_PURGE_BATCH_SIZE = 5
    batches = []
    report = tokens_purge(now=now, on_batch=lambda name, count: batches.append((name, count)))
    denied_batches = [count for name, count in batches if name == "revoked_access_tokens"]
    assert report["revoked_access_tokens"] == rows
    assert len(denied_batches) == math.ceil(rows / 5)
    assert max(denied_batches) == 5
    assert not RevokedAccessToken.objects.exists()


# A fixed instant: every row below is placed relative to it, and tokens_purge is given it, so no row
# can cross its boundary while the test runs.
NOW = timezone.make_aware(timezone.datetime(2026, 3, 1, 12, 0, 0))
JUST = timedelta(microseconds=1)  # the finest step a DateTimeField keeps, on both databases


def _device_authorization(client, expires_at):
    return DeviceAuthorization.objects.create(
        client=client,
        device_code_checksum=secrets.token_hex(32),
        user_code=secrets.token_hex(4).upper(),
        created_at=expires_at - timedelta(minutes=10),
        expires_at=expires_at,
        interval=5,
    )


ROWS = {
    # kind in tokens_purge's report: a row expiring at `expires_at`, and the model to count.
    "device_authorizations": (DeviceAuthorization, _device_authorization),
    "revoked_access_tokens": (
        RevokedAccessToken,
        lambda client, expires_at: RevokedAccessToken.objects.create(
            jti=uuid.uuid4().hex, expires_at=expires_at
        ),
    ),
    "client_assertion_jtis": (
        ClientAssertionJti,
        lambda client, expires_at: ClientAssertionJti.objects.create(
            client=client, jti=uuid.uuid4().hex, expires_at=expires_at
        ),
    ),
    "initial_access_tokens": (
        InitialAccessToken,
        lambda client, expires_at: InitialAccessToken.objects.create(
            checksum=secrets.token_hex(32), expires_at=expires_at
        ),
    ),
}


@pytest.mark.parametrize("kind", ROWS)
def test_rows_that_expire_go_at_their_expiry_and_not_a_microsecond_before(rp_client, kind):
    # Each is refused from its expires_at on (the grant, the deny-list check, the assertion check and
    # /register all compare with <= now), so that is when it may go, and not before.
    client, _secret = rp_client
    model, make = ROWS[kind]
    gone = [make(client, NOW - timedelta(days=1)).pk, make(client, NOW).pk]
    kept = [make(client, NOW + JUST).pk, make(client, NOW + timedelta(days=1)).pk]
    report = tokens_purge(now=NOW)
    assert report[kind] == 2
    assert set(model.objects.values_list("pk", flat=True)) == set(kept)
    assert not model.objects.filter(pk__in=gone).exists()


def test_a_used_initial_access_token_goes_before_it_expires(db):
    # Single use: once it registered its client it can register none, whatever its expiry.
    used = InitialAccessToken.objects.create(
        checksum=secrets.token_hex(32), expires_at=NOW + timedelta(days=1), used_at=NOW, client_id="c"
    )
    unused = InitialAccessToken.objects.create(checksum=secrets.token_hex(32), expires_at=NOW + JUST)
    assert tokens_purge(now=NOW)["initial_access_tokens"] == 1
    assert list(InitialAccessToken.objects.all()) == [unused]
    assert not InitialAccessToken.objects.filter(pk=used.pk).exists()


def test_management_command(rp_client, user):
    client, _secret = rp_client
    mint_code(client, user)
    AuthorizationCode.objects.update(expires=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    # An hour on each side of the command's own now: no boundary it could cross while running.
    InitialAccessToken.objects.create(checksum="a" * 64, expires_at=timezone.now() - timedelta(hours=1))
    live = InitialAccessToken.objects.create(
        checksum="b" * 64, expires_at=timezone.now() + timedelta(hours=1)
    )
    call_command("purge_tokens", "--json", "--batch-size", "2", stdout=out)
    report = json.loads(out.getvalue())
    assert report["authorization_codes"] == 1 and report["initial_access_tokens"] == 1
    assert not AuthorizationCode.objects.exists()
    assert list(InitialAccessToken.objects.all()) == [live]
