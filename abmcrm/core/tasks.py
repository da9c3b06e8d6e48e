"""Thin Celery tasks of the core: take ids, call one service."""

from celery import shared_task


@shared_task(acks_late=True)
def run_import(job_id):
    """Run one CSV import. A delivery of a finished job, or of one another worker is running,
    does nothing; a job whose worker died (its lease expired) runs again from the start (the
    upserts are idempotent)."""
    from .ingest import import_run
    from .models import ImportJob

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    import_run(job=job)


@shared_task(ignore_result=True)
def redrive():
    """Every sweeper once (beat entry `abmcrm-redrive`): see `manage.py redrive`."""
    from .redrive import redrive_all

    return [(name, counts, error) for name, counts, error in redrive_all()]


@shared_task(ignore_result=True)
def outbox_dispatch():
    """Hand the outbox's new events to the consumers (queued after each commit that wrote
    some; the sweeper runs the same)."""
    from .outbox import dispatch

    return dispatch()
