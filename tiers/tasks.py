"""Thin Celery tasks of the tiers app: take ids, call one service (imported in the body,
so that the services may import these tasks)."""

from celery import shared_task
from django.db import OperationalError

from .models import RecomputeJob


@shared_task(acks_late=True)
def run_recompute(job_id):
    """Run one recompute job; a finished job delivered again does nothing."""
    from . import services

    job = RecomputeJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    services.recompute_run(job=job)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def recompute_accounts(account_ids):
    """Rescore and retier the accounts an ingest touched. Idempotent: scores are recomputed
    from the stored signals and events, and a tier move is a compare-and-set."""
    from . import services

    services.tiers_recompute(account_ids=[int(pk) for pk in account_ids])


@shared_task(acks_late=True)
def recompute_all():
    """The periodic full recompute (abmcrm.beat_schedule()): engagement decays and windows
    move even when no new data arrives."""
    from . import services

    job = RecomputeJob.objects.create()
    services.recompute_run(job=job)
