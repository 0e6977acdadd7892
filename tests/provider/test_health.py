"""/healthz and /readyz answer JSON, are never cached, and say which dependency is missing.

(The real outage, a PostgreSQL server stopped and restarted under a live provider, is in
test_deployment.py.)"""

import pytest
from django.db import OperationalError

from provider import health

pytestmark = pytest.mark.django_db


def test_healthz_is_alive_and_uncached(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_checks_database_cache_and_key(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok", "signing_key": "ok"},
    }
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_503_without_an_active_key_and_creates_none(client, maintenance_wakes):
    from keys.models import SigningKey
    from keys.selectors import reset_cache

    SigningKey.objects.all().delete()
    reset_cache()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["signing_key"] == "missing"
    # A probe is a request: it asks the background step for a key and makes none itself.
    assert not SigningKey.objects.exists()
    assert maintenance_wakes


def test_readyz_is_503_with_the_reason_when_the_database_fails(client, monkeypatch):
    class Broken:
        def __enter__(self):
            raise OperationalError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(health.connection, "cursor", lambda: Broken())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unreachable", "cache": "ok", "signing_key": "unknown"},
    }


def test_a_failing_cache_is_reported_but_does_not_fail_readiness(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(health.cache, "set", refuse)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["cache"] == "degraded"
