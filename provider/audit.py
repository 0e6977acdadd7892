"""Audit events: one function every app calls, so where events are kept can change in one place.

Events go to the "signet.audit" logger as structured records. Never pass a secret, token,
password or private key as a field.
"""

import logging

log = logging.getLogger("signet.audit")


def audit(event, *, actor=None, client_id=None, **fields):
    """Record an audit event such as "login.succeeded", "token.refresh_reuse", "key.rotated"."""
    record = {"event": event, "actor": str(actor) if actor is not None else None, "client_id": client_id}
    record.update(fields)
    log.info(event, extra={"audit": record})
