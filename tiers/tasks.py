from celery import shared_task

from .models import ImportJob


@shared_task(acks_late=True)
def run_import(job_id):
    """Run one CSV import. A second delivery of a finished job does nothing; a job whose
    worker died mid-way runs again from the start (the upserts are idempotent)."""
    from . import services

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return
    services.import_run(job=job)
