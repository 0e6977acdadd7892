"""Prometheus metrics: what Signet counts as it serves, and /metrics (README "Metrics").

Other code records through the few functions exported here; `sign_in` is for any sign-in method
(a second factor calls it with its own `method`).
"""

from .recorder import (
    FAILURE,
    PASSWORD,
    SUCCESS,
    audit_event,
    document_answered,
    lockout,
    request_answered,
    sign_in,
)

__all__ = [
    "FAILURE",
    "PASSWORD",
    "SUCCESS",
    "audit_event",
    "document_answered",
    "lockout",
    "request_answered",
    "sign_in",
]
