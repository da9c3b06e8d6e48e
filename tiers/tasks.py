"""Thin Celery tasks of the tiers app: take ids, call one service (imported in the body).
The services publish these tasks by name (`abmcrm.core.queueing.publish`), never import
them: the dependency runs one way, tasks → services."""

from celery import shared_task
from django.db import OperationalError

from .models import RecomputeJob


@shared_task(bind=True, acks_late=True, max_retries=5)
def run_recompute(self, job_id):
    """Run one recompute job. A delivery of a finished job, or of one another worker is
    running, does nothing. A transient database error (a deadlock with a concurrent
    recompute, a lost connection) hands the job back and retries with backoff; past the
    retries the job waits, pending, for the sweeper."""
    from . import services

    job = RecomputeJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    try:
        services.recompute_run(job=job)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** self.request.retries)) from exc


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def recompute_accounts(account_ids):
    """Rescore and retier these accounts. Deprecated: changes now queue a recompute job
    (`run_recompute`), which the sweeper can queue again; this task only runs what was
    queued before an upgrade."""
    from . import services

    services.tiers_recompute(account_ids=[int(pk) for pk in account_ids])


@shared_task(acks_late=True)
def recompute_all():
    """The periodic full recompute (abmcrm.beat_schedule()): engagement decays and windows
    move even when no new data arrives."""
    from . import services

    job = RecomputeJob.objects.create(trigger=RecomputeJob.Trigger.SCHEDULE)
    services.recompute_run(job=job)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def reclassify_personas():
    """Give every contact not set by hand the persona the current rules give its title
    (published when the persona rules change). Idempotent: a second run writes nothing."""
    from . import services

    services.contacts_reclassify()
