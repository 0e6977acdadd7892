"""`manage.py db_worker`: django-tasks-db's worker, plus putting back the tasks a dead worker left RUNNING.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again: if that
worker is killed (SIGKILL, out of memory, a lost container) the task stays RUNNING for ever and its
logout token is never sent. This command (listed before django_tasks_db in INSTALLED_APPS, so it
replaces that app's command of the same name) starts the reaper of provider/tasks.py beside the loop.
"""

from django_tasks_db.management.commands import db_worker

from provider import tasks


class Command(db_worker.Command):
    help = db_worker.Command.help + "; tasks a dead worker left RUNNING are run again (provider/tasks.py)"

    def handle(self, **options):
        tasks.stale_reaper_start()
        super().handle(**options)
