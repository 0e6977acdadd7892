"""The one entry point for audit events."""

import logging

from django.db import DatabaseError, transaction

from provider import context, metrics

log = logging.getLogger("signet.audit")


def audit(event, *, actor=None, client_id=None, store=True, **fields):
    """Record `event` (e.g. "login.failed", "token.refresh_reuse", "key.rotated") as a row and a log line.

    `actor` is a user (or any object; stored as its string), `fields` JSON-serialisable details.
    `store=False` writes the log line only: routine events (a token issued) that would otherwise put
    a row on every request's path.
    Inside a transaction the row commits or rolls back with it; the log line is written either way.
    A failure to store the row is logged, never raised: auditing must not break a login.
    """
    from .models import AuditEvent

    metrics.audit_event(event, client_id, fields)
    actor_text = "" if actor is None else str(getattr(actor, "pk", None) or actor)
    record = {
        "event": event,
        "actor": actor_text,
        "client_id": client_id or "",
        "ip_address": context.client_address.get(),
        "request_id": context.request_id.get() or "",
    }
    log.info(event, extra={"fields": {"audit": {**record, **fields}}})
    if not store:
        return
    limit = AuditEvent._meta.get_field("client_id").max_length
    if len(record["client_id"]) > limit:
        # Longer than any client id: what a request made up (a presented client_id, a next= link).
        # Cut to fit rather than lose the row, which PostgreSQL would refuse whole.
        record = {**record, "client_id": record["client_id"][:limit]}
        fields = {**fields, "client_id_truncated": True}
    connection = transaction.get_connection()
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint: a failed insert leaves the outer transaction usable
                AuditEvent.objects.create(data=fields, **record)
        else:
            # Autocommit: one INSERT, not BEGIN/INSERT/COMMIT (this runs on every token response).
            AuditEvent.objects.create(data=fields, **record)
    except DatabaseError:
        log.exception("could not store audit event %s", event)
