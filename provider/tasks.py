"""The jobs Signet runs outside requests, on the task queue (django-tasks; settings.TASKS).

Each task is a thin entry point, with JSON arguments only (never a secret: the queue is a table);
its work lives in the module named after what it does, imported when it runs, so this module
imports nothing of accounts/ or provider/oidc at import time. `manage.py db_worker` runs them.
"""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task


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
