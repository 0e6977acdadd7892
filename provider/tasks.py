"""The jobs Signet runs outside requests, on the task queue (django-tasks; settings.TASKS).

Each task is a thin entry point, with JSON arguments only (never a secret: the queue is a table);
its work lives in the module named after what it does, imported when it runs, so this module
imports nothing of accounts/ or provider/oidc at import time. `manage.py db_worker` runs them.
"""

import logging
import threading
import time
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def password_reset_mail(*, user_id, language):
    """Compose and send a password-reset mail (the link is made here, so it is never stored)."""
    from accounts.reset_mail import password_reset_mail_send

    password_reset_mail_send(user_id=user_id, language=language)


@task()
def backchannel_logout(*, client_id, sub, sid, attempt=1):
    """POST one logout token to a client's back-channel logout URI; a failure enqueues the next attempt."""
    from provider.oidc.backchannel import logout_deliver

    return logout_deliver(client_id=client_id, sub=sub, sid=sid, attempt=attempt)


def enqueue_later(job, *, seconds, **kwargs):
    """Enqueue `job` to run `seconds` from now; False where the backend runs tasks at once and cannot wait
    (the immediate backend): django-tasks has no retries of its own, so a retry is a new, later task."""
    if not job.get_backend().supports_defer:
        return False
    job.using(run_after=timezone.now() + timedelta(seconds=seconds)).enqueue(**kwargs)
    return True


def stale_requeue():
    """Put back as READY every task RUNNING for longer than SIGNET_TASKS_STALE_SECONDS: its worker died
    (a task cannot take that long: a logout POST has its own timeout), so no one else will finish it.
    Returns how many. A task whose worker was only slow then runs twice: delivery is at least once."""
    from django.conf import settings
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(seconds=settings.SIGNET_TASKS_STALE_SECONDS)
    return DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff).update(
        status="READY", started_at=None
    )


def _reap_forever(interval):
    from django.db import connections

    while True:
        try:
            if count := stale_requeue():
                log.warning("%d task(s) left RUNNING by a dead worker are queued again", count)
        except Exception:  # the database may be away for a while: keep trying, like the worker loop
            log.exception("could not requeue stale tasks")
        finally:
            connections.close_all()  # this thread's connection only: nothing held between rounds
        time.sleep(interval)


def stale_reaper_start():
    """In the worker process: requeue stale RUNNING tasks now, then every quarter of the stale age
    (at most a minute), in a daemon thread that dies with the worker."""
    from django.conf import settings

    interval = min(60.0, settings.SIGNET_TASKS_STALE_SECONDS / 4)
    threading.Thread(target=_reap_forever, args=(interval,), name="stale-task-reaper", daemon=True).start()
