"""Queueing Celery tasks so that a broker that is down never turns a committed request into an
error: the request's rows are committed, so answering 500 ("nothing was saved") would be
false. A task that could not be queued is logged and left to a sweeper (`manage.py redrive`),
which finds its rows by their state and queues it again.

Services name their tasks ("webhooks.tasks.deliver_next": a shared task's name is its dotted
path) rather than import them: a tasks module imports its services, so a service importing
its tasks would close a circle (docs/internals/design-decisions.md). The task is looked up when
it is published."""

import logging

from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def task_named(task):
    """The Celery task `task` names (its dotted path), or `task` itself if it is one. The
    tasks module is imported on first use, by name: no module-level tie to it."""
    return import_string(task) if isinstance(task, str) else task


def _send(task, args, kwargs, options):
    task = task_named(task)
    if task.app.conf.task_always_eager:
        task.apply_async(args, kwargs, **options)
        return True
    try:
        task.apply_async(args, kwargs, **options)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper queues it later
        logger.warning("%s%r not queued (the sweeper will queue it): %s", task.name, args, exc)
        return False
    return True


def publish(task, *args, **kwargs):
    """Queue `task` (a task or its name) now; False (logged, never raised) if the broker
    cannot be reached. Tasks run eagerly (tests, CELERY_TASK_ALWAYS_EAGER) raise as they
    would in the caller."""
    return _send(task, args, kwargs, {})


def publish_later(delay, task, *args, **kwargs):
    """Queue `task` (a task or its name) to run in `delay` seconds; False if the broker
    cannot be reached. Not run at all when tasks run eagerly (an eager task cannot wait:
    it would run at once, in the caller): the caller's sweeper takes it once it is due."""
    task = task_named(task)
    if task.app.conf.task_always_eager:
        return False
    return _send(task, args, kwargs, {"countdown": delay})


def publish_on_commit(task, *args, **kwargs):
    """`publish` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args, **kwargs))
