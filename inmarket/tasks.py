"""Thin Celery tasks of the inmarket app: take ids, call one service (imported in the body)."""

from celery import shared_task
from django.db import OperationalError

from .models import TrainingJob


@shared_task(bind=True, acks_late=True, max_retries=5)
def run_training(self, job_id):
    """Run one training job. A delivery of a finished job, or of one another worker is
    running, does nothing; a transient database error hands it back and retries."""
    from . import services

    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    try:
        services.training_run(job=job)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** self.request.retries)) from exc


@shared_task(acks_late=True)
def train_scheduled():
    """The weekly training (abmcrm.beat_schedule()): a job like a requested one, so it has
    progress, a lease and the sweeper."""
    from . import services

    services.training_start(trigger=TrainingJob.Trigger.SCHEDULE)
