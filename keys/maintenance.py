"""Key maintenance, never inside a request: the schedule (services.key_maintain) and the audit rows
that reads of the key ring owe.

Reads (selectors) write nothing, so a token request's transaction holds no key-ring lock and commits
or rolls back only its own rows. When a read sees work for the schedule (a rotation due, a retired
key to purge, no active or next key) or an untrusted row to audit, it calls wake(): a daemon thread
of this process runs one step on its own database connection, in its own transaction, under the ring
lock. Many workers and instances may wake at once; the lock serialises them and every decision is
re-made under it, so a due rotation happens once. The container start (`manage.py keys rotate
--if-due`, the same step) and cron, for those who want it, run it too.
"""

import logging
import threading
import time
from collections import deque

from django.db import DatabaseError, connections

from provider.audit import audit

log = logging.getLogger("signet.keys")
# After a failed step (read-only replica, database down), reads do not ask again for this long, so
# a lasting failure is one log line per half minute per process, not one per reload interval.
RETRY_AFTER_FAILURE_SECONDS = 30.0
NEVER = float("-inf")

_lock = threading.Lock()
_thread = None
_failed_at = NEVER
# Whether a read asked for the schedule, not only for audit rows: the schedule takes the ring lock
# (and re-audits keys it passes over), so a step that only owes audit rows does not run it.
_schedule_asked = False
# (event, fields) of audit rows reads decided on; stored by the next step. Bounded in practice:
# a key's trust is decided once per key per process.
_audits = deque(maxlen=1000)


def start_thread(target):
    """Run target in a daemon thread (a process exiting mid-step just rolls its transaction back).

    Tests replace this: a thread with its own connection would write outside the test's transaction.
    """
    thread = threading.Thread(target=target, name="signet-key-maintenance", daemon=True)
    thread.start()
    return thread


def wake(*, schedule=True):
    """Ask for a maintenance step in the background; at most one runs at a time in this process."""
    global _thread, _schedule_asked
    with _lock:
        _schedule_asked = _schedule_asked or schedule
        if _thread is not None and _thread.is_alive():
            return
        if time.monotonic() - _failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return
        try:
            _thread = start_thread(_background_step)
        except RuntimeError:  # no new threads while the interpreter shuts down: not the request's error
            log.warning("could not start signing-key maintenance; a later read asks again")


def defer_audit(event, **fields):
    """Have the next maintenance step store an audit row (the log line is the caller's, at once)."""
    _audits.append((event, fields))
    wake(schedule=False)


def _background_step():
    global _schedule_asked
    with _lock:
        schedule, _schedule_asked = _schedule_asked, False
    try:
        run(schedule=schedule)
    except Exception:  # a thread's exception would reach stderr only, outside the JSON logs
        log.exception("signing-key maintenance failed")
    finally:
        connections.close_all()  # this thread's own connections: nothing else would close them


def run(*, now=None, schedule=True):
    """One maintenance step on this thread's connection, outside any request: store the audit rows
    reads left, run the schedule under the ring lock (unless told not to), make this process reload.

    Returns the services.Rotation; None if the schedule did not run or failed: a failure is logged,
    the current keys keep serving, and reads ask again after RETRY_AFTER_FAILURE_SECONDS.
    """
    from . import crypto, selectors, services

    global _failed_at
    while _audits:
        event, fields = _audits.popleft()
        audit(event, **fields)
    if not schedule:
        return None
    try:
        rotation = services.key_maintain(now=now)
    except (DatabaseError, crypto.KeyDecryptionError):
        _failed_at = time.monotonic()
        log.exception("signing-key maintenance failed; the current keys keep serving")
        return None
    _failed_at = NEVER
    selectors.invalidate()
    return rotation


def reset():
    """Forget pending audit rows and a past failure (tests)."""
    global _failed_at, _schedule_asked
    _failed_at = NEVER
    _schedule_asked = False
    _audits.clear()
