"""The lifecycle every background job shares (`models.Job`): pending → running → done or
failed. Each move is a compare-and-set on the status, so a job delivered twice (a task
redelivered after its worker died) runs again from the start but never finishes twice."""

from django.utils import timezone

from .models import Job

Status = Job.Status


def job_start(*, job, reset=None):
    """Mark the job running (from pending, or from running: its last worker died mid-way and
    it starts over). `reset`: {field: value} to set with it, e.g. counters back to zero.
    Returns False, changing nothing, if the job has already finished."""
    fields = {"status": Status.RUNNING, "started_at": timezone.now(), "message": "",
              **(reset or {})}
    moved = type(job).objects.filter(pk=job.pk, status__in=[Status.PENDING, Status.RUNNING]
                                     ).update(**fields)
    if moved:
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(moved)


def job_finish(*, job, status=Status.DONE, message=None, fields=()):
    """Mark a running job done or failed, writing `fields` (names of attributes already set
    on `job`, e.g. its counts) in the same statement. Returns whether it moved."""
    values = {"status": status, "finished_at": timezone.now(),
              **{name: getattr(job, name) for name in fields}}
    if message is not None:
        values["message"] = message
    moved = type(job).objects.filter(pk=job.pk, status=Status.RUNNING).update(**values)
    if moved:
        for name, value in values.items():
            setattr(job, name, value)
    return bool(moved)


def job_fail(*, job, message, fields=()):
    return job_finish(job=job, status=Status.FAILED, message=message, fields=fields)
