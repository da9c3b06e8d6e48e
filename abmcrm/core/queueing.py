"""Queueing Celery tasks so that a broker that is down never turns a committed request into an
error: the request's rows are committed, so answering 500 ("nothing was saved") would be
false. A task that could not be queued is logged and left to a sweeper (`manage.py redrive`),
which finds its rows by their state and queues it again."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def publish(task, *args, **kwargs):
    """Queue `task` now; False (logged, never raised) if the broker cannot be reached. Tasks
    run eagerly (tests, CELERY_TASK_ALWAYS_EAGER) raise as they would in the caller."""
    if task.app.conf.task_always_eager:
        task.apply_async(args, kwargs)
        return True
    try:
        task.apply_async(args, kwargs)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper queues it later
        logger.warning("%s%r not queued (the sweeper will queue it): %s", task.name, args, exc)
        return False
    return True


def publish_on_commit(task, *args, **kwargs):
    """`publish` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args, **kwargs))
