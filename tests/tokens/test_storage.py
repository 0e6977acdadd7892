"""provider/oidc/storage.py's written-out statements read and write exactly what the ORM would.

Run on SQLite and on PostgreSQL (CI runs both): each backend hands values back differently (UUIDs as
text, JSON as text, naive datetimes), and the rows must come back as the same Python values either way.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from oauth2_provider.models import get_refresh_token_model

from provider.oidc import refresh, storage
from provider.oidc.models import AuthorizationCode, TokenFamily

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 10, 30, 15, 123456, tzinfo=UTC)


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _code(client, user):
    return AuthorizationCode.objects.create(
        application=client,
        user=user,
        code="c0de-" + "x" * 40,
        expires=NOW + timedelta(seconds=60),
        redirect_uri="https://rp.example/cb",
        scope="openid email",
        code_challenge="q" * 43,
        code_challenge_method="S256",
        nonce="n-1",
        claims='{"id_token": {"acr": null}}',
        resource=["https://api.example"],
        auth_time=1796034615,
        sid="sid-1",
        acr="2",
        amr=["pwd", "otp", "mfa"],
    )


def test_a_taken_code_is_the_row_the_orm_reads_with_its_user(rp_client, user):
    client, _ = rp_client
    created = _code(client, user)
    taken = storage.code_take(created.code)
    assert _fields(taken) == _fields(AuthorizationCode.objects.get(pk=created.pk))
    assert _fields(taken.user) == _fields(type(user).objects.get(pk=user.pk))
    assert isinstance(taken.user.pk, uuid.UUID) and taken.amr == ["pwd", "otp", "mfa"]
    assert storage.code_take("no-such-code") is None
    storage.code_delete(taken)
    assert not AuthorizationCode.objects.filter(pk=created.pk).exists()


def test_a_started_grant_and_its_refresh_token_read_back_as_written(rp_client, user):
    client, _ = rp_client
    grant = refresh.family_start(
        client=client,
        user=user,
        scopes=["openid", "offline_access"],
        resources=["https://api.example"],
        auth_time=1796034615,
        sid="sid-1",
        acr="phr",
        amr=["hwk", "user", "mfa"],
        id_token_claims={"acr": {"essential": True}},
        code="a-code",
        now=NOW,
    )
    stored = TokenFamily.objects.get(family=grant.family)
    assert _fields(stored) == _fields(grant)
    assert stored.created_at == NOW and stored.amr == ["hwk", "user", "mfa"]

    value, row = refresh.refresh_token_issue(grant=grant, resources=["https://api.example"], now=NOW)
    assert row.pk is not None
    assert _fields(get_refresh_token_model().objects.get(pk=row.pk)) == _fields(row)

    [(token, family)] = storage.refresh_tokens_take(refresh.checksum(value))
    assert _fields(token) == _fields(row)
    assert _fields(family) == _fields(stored)
    assert family.user.pk == user.pk and family.user.email == user.email

    later = NOW + timedelta(minutes=5)
    storage.refresh_token_use(token, now=later)
    assert get_refresh_token_model().objects.get(pk=row.pk).revoked == later
    assert storage.refresh_tokens_take(refresh.checksum("not-issued")) == []


def test_a_refresh_token_whose_grant_is_gone_comes_back_without_one(rp_client, user):
    client, _ = rp_client
    grant = refresh.family_start(client=client, user=user, scopes=["openid"], now=NOW)
    value, _ = refresh.refresh_token_issue(grant=grant, resources=[], now=NOW)
    TokenFamily.objects.filter(family=grant.family).delete()
    [(token, family)] = storage.refresh_tokens_take(refresh.checksum(value))
    assert token.token_family == grant.family and family is None
