"""The lifecycle every background job shares (`models.Job`): pending → running → done or
failed. Each move is a compare-and-set on the status.

A running job is held by a lease: `job_start` gives the run a new `lease` token and stamps
`heartbeat_at`, which the run renews with each progress save (`job_heartbeat`). Another
delivery of the task (a redelivery, the sweeper's re-queue) takes a running job over only
once its heartbeat is older than ABMCRM_JOB_LEASE_SECONDS: its worker is presumed dead, and
the job runs again from the start. So a job never runs twice at once, and a run that lost
its lease (it was only slow) notices at its next heartbeat (`LeaseLost`) and stops without
finishing the job. A job always ends: the sweeper (`jobs_redrive`) queues again a job whose
task never ran or whose worker died, and fails one started ABMCRM_JOB_MAX_ATTEMPTS times.
"""

import logging
import secrets
from contextlib import contextmanager
from datetime import timedelta

from django.apps import apps
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from . import i18n
from .conf import settings as conf
from .models import Job
from .queueing import publish
from .text import storable

logger = logging.getLogger(__name__)

Status = Job.Status
# How many jobs of each kind one sweep queues or fails at most (the next sweep takes the rest).
SWEEP_BATCH = 500


class LeaseLost(Exception):
    """Another run took the job over: this one must stop without writing more."""


def _lease_expired(now):
    stale = now - timedelta(seconds=conf.ABMCRM_JOB_LEASE_SECONDS)
    return Q(status=Status.RUNNING) & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale))


# Queueing ---------------------------------------------------------------------------------

def job_enqueue(*, job):
    """Queue the job's task once the current transaction commits. If the broker cannot be
    reached the request still succeeds and the job waits, pending, for the sweeper."""
    pk, model = job.pk, type(job)
    transaction.on_commit(lambda: job_dispatch(model=model, job_id=pk))


def job_dispatch(*, model, job_id):
    """Queue the task of one job now, and note when (`queued_at`). Never raises for a broker
    that is down; returns whether it was queued."""
    queued = publish(model.task, job_id)
    if queued:
        model.objects.filter(pk=job_id).update(queued_at=timezone.now())
    return queued


# The lifecycle ----------------------------------------------------------------------------

def job_start(*, job, reset=None):
    """Mark the job running under a new lease: from pending, or from running once the lease
    of the run before has expired (its worker died; the job starts over). `reset`: {field:
    value} to set with it, e.g. counters back to zero. Returns False, changing nothing, if
    the job has finished or another run holds it."""
    now = timezone.now()
    fields = {"status": Status.RUNNING, "started_at": now, "heartbeat_at": now,
              "lease": secrets.token_hex(16), "message": "", "message_data": [],
              **(reset or {})}
    moved = type(job).objects.filter(
        Q(status=Status.PENDING) | _lease_expired(now), pk=job.pk,
    ).update(attempts=F("attempts") + 1, **fields)
    if moved:
        for name, value in fields.items():
            setattr(job, name, value)
        job.attempts = (job.attempts or 0) + 1
    return bool(moved)


def message_values(message):
    """{"message", "message_data"} to store for `message`: a string (kept as it is), a
    deferred message (`abmcrm.core.i18n.deferred`) or a list of them (translated for each
    reader, and written in English in `message`). Messages quote what came from outside (a
    file's header, a library's error): what the database cannot store is replaced."""
    text, parts = i18n.message_parts(message)
    return {"message": storable(text), "message_data": _storable_values(parts)}


def _storable_values(value):
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {key: _storable_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable_values(item) for item in value]
    return value


def job_message_set(*, job, message):
    """Set the job's message on `job` (not saved: name "message" and "message_data" in the
    `fields` of the next heartbeat)."""
    for name, value in message_values(message).items():
        setattr(job, name, value)


def job_heartbeat(*, job, fields=()):
    """Renew the run's lease, writing `fields` (names of attributes set on `job`, e.g. its
    progress) in the same statement. LeaseLost if another run has taken the job over."""
    now = timezone.now()
    values = {"heartbeat_at": now, **{name: getattr(job, name) for name in fields}}
    moved = type(job).objects.filter(pk=job.pk, status=Status.RUNNING,
                                     lease=job.lease).update(**values)
    if not moved:
        raise LeaseLost(f"{type(job).__name__} {job.pk} is no longer held by this run.")
    job.heartbeat_at = now


def job_finish(*, job, status=Status.DONE, message=None, fields=()):
    """Mark the run's job done or failed, writing `fields` (names of attributes already set
    on `job`, e.g. its counts) in the same statement. Returns whether it moved: not if the
    job has finished already or another run holds it."""
    values = {"status": status, "finished_at": timezone.now(), "heartbeat_at": None,
              **{name: getattr(job, name) for name in fields}}
    if message is not None:
        values.update(message_values(message))
    moved = type(job).objects.filter(pk=job.pk, status=Status.RUNNING,
                                     lease=job.lease).update(**values)
    if moved:
        for name, value in values.items():
            setattr(job, name, value)
    return bool(moved)


def job_fail(*, job, message, fields=()):
    return job_finish(job=job, status=Status.FAILED, message=message, fields=fields)


def retry_message(exc):
    """The message of a job handed back after a transient database error (the text of the
    error itself stays as the database wrote it)."""
    return i18n.deferred(gettext_noop("Retrying after a database error: %(error)s"),
                         error=str(exc))


class JobRun:
    """What `job_running` saw: `lost` when another worker took the job over."""

    lost = False


@contextmanager
def job_running(*, job, label):
    """The work of a started job, ended the one way every job ends: taken over by another
    worker (`run.lost`; that worker finishes it), handed back for the task's retry on a
    transient database error (a deadlock, a lost connection), or failed with the error's
    text on anything else — never left "running". The two errors are raised again for the
    worker to retry or log."""
    run = JobRun()
    try:
        yield run
    except LeaseLost:
        logger.warning("%s %s: taken over by another worker; stopping here", label, job.pk)
        run.lost = True
    except OperationalError as exc:
        job_release(job=job, message=retry_message(exc))
        raise
    except Exception as exc:
        job_fail(job=job, message=f"{type(exc).__name__}: {exc}")
        raise


def job_release(*, job, message=""):
    """Hand the run's job back (running → pending) after a transient error, for a retry of
    its task to start it again. Returns whether it moved."""
    values = {"status": Status.PENDING, "heartbeat_at": None, "lease": "",
              **message_values(message)}
    moved = type(job).objects.filter(pk=job.pk, status=Status.RUNNING,
                                     lease=job.lease).update(**values)
    if moved:
        for name, value in values.items():
            setattr(job, name, value)
    return bool(moved)


# The sweeper ------------------------------------------------------------------------------

def job_models():
    """The installed kinds of job: concrete `Job` models that name their task."""
    return [model for model in apps.get_models()
            if issubclass(model, Job) and not model._meta.abstract and model.task]


def jobs_redrive(*, now=None):
    """Queue again every job that should be moving and isn't, of every kind:
    - pending jobs whose task was never queued (the broker was down), or was queued more
      than ABMCRM_JOB_STUCK_AFTER seconds ago and never started;
    - running jobs whose heartbeat is older than the lease (their worker died): the task
      starts them over.
    A job already started ABMCRM_JOB_MAX_ATTEMPTS times is failed instead, with a message
    saying so. Returns {"queued", "not_queued", "failed"}."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=conf.ABMCRM_JOB_STUCK_AFTER)
    counts = {"queued": 0, "not_queued": 0, "failed": 0}
    for model in job_models():
        due = model.objects.filter(
            Q(status=Status.PENDING) & (Q(queued_at__isnull=True) | Q(queued_at__lt=stuck))
            | _lease_expired(now)
        ).order_by("pk").values_list("pk", "attempts")
        for pk, attempts in list(due[:SWEEP_BATCH]):
            if attempts >= conf.ABMCRM_JOB_MAX_ATTEMPTS:
                counts["failed"] += _abandon(model, pk, attempts, now)
            elif job_dispatch(model=model, job_id=pk):
                counts["queued"] += 1
            else:
                counts["not_queued"] += 1
    return counts


def _abandon(model, pk, attempts, now):
    message = i18n.deferred(gettext_noop(
        "Stopped after %(attempts)s attempts: the worker running it stopped each time (see the "
        "worker's log). Start it again once the cause is fixed."), attempts=attempts)
    moved = model.objects.filter(
        Q(status=Status.PENDING) | _lease_expired(now), pk=pk,
    ).update(status=Status.FAILED, finished_at=now, heartbeat_at=None,
             **message_values(message))
    if moved:
        logger.error("%s %s failed after %s attempts", model.__name__, pk, attempts)
    return moved
