"""Thin Celery tasks of the core: take ids, call one service."""

from celery import shared_task


@shared_task(acks_late=True)
def run_import(job_id):
    """Run one CSV import. A second delivery of a finished job does nothing; a job whose
    worker died mid-way runs again from the start (the upserts are idempotent)."""
    from .ingest import import_run
    from .models import ImportJob

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    import_run(job=job)
