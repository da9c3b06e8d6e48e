import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abmcrm.settings")

app = Celery("abmcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_db_connections_like_a_request(sender=None, **kwargs):
    """Treat each task like a web request: reuse the database connection for CONN_MAX_AGE
    seconds and health-check it before use (CELERY_DB_REUSE_MAX stops Celery closing it
    after every task). Not for eager tasks, which run inside the caller's transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
