"""The answer Signet gives when the database is unreachable (provider.health.server_error), in process.

test_faults.py proves it against a real PostgreSQL crash; this pins the rule on any database: an
OperationalError or InterfaceError anywhere in a request is a 503 with a JSON body and Retry-After,
while every other error stays a plain 500 page with no detail.
"""

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.reliability]


def _failing(error):
    def jwks_document(*args, **kwargs):
        raise error

    return jwks_document


@pytest.mark.parametrize(
    "error", [OperationalError("connection refused"), InterfaceError("connection closed")]
)
def test_unreachable_database_is_a_503_with_json(monkeypatch, error):
    monkeypatch.setattr("keys.views.jwks_document", _failing(error))
    response = Client(raise_request_exception=False).get("/jwks")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Retry-After"].isdigit()
    assert response["Cache-Control"] == "no-store"
    assert "connection" not in response.content.decode()  # no internal detail


@pytest.mark.parametrize("error", [IntegrityError("duplicate key"), ValueError("a bug")])
def test_any_other_error_stays_a_plain_500(monkeypatch, error):
    monkeypatch.setattr("keys.views.jwks_document", _failing(error))
    response = Client(raise_request_exception=False).get("/jwks")
    assert response.status_code == 500
    assert b"duplicate key" not in response.content and b"a bug" not in response.content
    assert b"Traceback" not in response.content
