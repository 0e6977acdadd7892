"""The answer Signet gives when the database is unreachable (provider.health.server_error), in process.

test_faults.py proves it against a real PostgreSQL crash; this pins the rule on any database: an
OperationalError or InterfaceError anywhere in a request is a 503 with a JSON body and Retry-After,
while every other error stays a plain 500 page with no detail.
"""

import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
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


def _session_save_failed(cause):
    """The exception chain Django's database session backend produces when the save fails."""

    def jwks_document(*args, **kwargs):
        from django.contrib.sessions.backends.base import UpdateError
        from django.contrib.sessions.exceptions import SessionInterrupted

        try:
            try:
                raise cause
            except type(cause) as e:
                raise UpdateError from e
        except UpdateError as e:
            raise SessionInterrupted("The request's session was deleted before the request completed.") from e

    return jwks_document


def test_session_save_failing_because_the_database_is_down_is_a_503(monkeypatch):
    """SessionMiddleware reports any failed session save as SessionInterrupted (400); when the
    database was unreachable that is an outage, and the client must be told to retry."""
    monkeypatch.setattr(
        "keys.views.jwks_document", _session_save_failed(OperationalError("connection refused"))
    )
    response = Client(raise_request_exception=False).get("/jwks")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_a_session_really_deleted_concurrently_stays_a_400(monkeypatch):
    # What Django raises when the session row is gone: a plain DatabaseError, not an outage.
    gone = DatabaseError("Forced update did not affect any rows.")
    monkeypatch.setattr("keys.views.jwks_document", _session_save_failed(gone))
    response = Client(raise_request_exception=False).get("/jwks")
    assert response.status_code == 400
    assert b"Forced update" not in response.content
