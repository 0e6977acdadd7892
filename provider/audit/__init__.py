"""Audit events: one function every app calls (`from provider.audit import audit`).

Each event is written twice: as a row (AuditEvent, searchable in the admin) and as a JSON log line on
the "signet.audit" logger. Never pass a secret, token, password or private key as a field.
"""

from .events import audit

__all__ = ["audit"]
