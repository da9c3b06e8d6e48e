"""abmcrm's Celery app: the reference project's, and the one abmcrm's tasks are sent with in
a host project that made no Celery app of its own (`abmcrm.core.celery_app.configure`).

Configured from the Django settings' `CELERY_*` names, whichever settings module
DJANGO_SETTINGS_MODULE names: `celery -A abmcrm worker` runs the reference project, and with
DJANGO_SETTINGS_MODULE=host.settings a host project's. This is the same set-up
docs/guide/install.md gives a host's own `celery.py`.
"""

import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

import abmcrm

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abmcrm.settings")

app = Celery("abmcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule.update(abmcrm.beat_schedule())


# A connection that served the previous task and passed the after-task check less than this
# many seconds ago is not health-checked again before the next task.
FRESH_AFTER_TASK = 1.0
_last_task_end = [float("-inf")]


@task_postrun.connect
def close_db_connections_after_task(sender=None, **kwargs):
    """Treat each task like a web request: reuse the database connection for CONN_MAX_AGE
    seconds, and close it once it is older or an error left it unusable (CELERY_DB_REUSE_MAX
    stops Celery closing it after every task). Not for eager tasks, which run inside the
    caller's transaction."""
    if _in_worker(sender):
        from django.db import close_old_connections

        close_old_connections()
        _last_task_end[0] = time.monotonic()


@task_prerun.connect
def check_db_connections_before_task(sender=None, **kwargs):
    """Health-check the connection before a task, as Django does before a request, unless
    the previous task ended a moment ago: it was checked then, and a SELECT 1 before every
    task would cost a busy worker one more database round trip per task."""
    if not _in_worker(sender):
        return
    from django.db import close_old_connections, connections

    if time.monotonic() - _last_task_end[0] < FRESH_AFTER_TASK:
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                connection.health_check_done = True
        return
    close_old_connections()


def _in_worker(task):
    return task is not None and not getattr(task.request, "is_eager", False)
