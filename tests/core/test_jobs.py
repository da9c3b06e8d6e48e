"""The one lifecycle of background jobs (abmcrm/core/jobs.py), on both kinds of job."""

import pytest

from abmcrm.core import jobs
from abmcrm.core.models import ImportJob, Job
from tiers.models import RecomputeJob

pytestmark = pytest.mark.django_db
Status = Job.Status


@pytest.fixture(params=["import", "recompute"])
def job(request):
    if request.param == "import":
        return ImportJob.objects.create(kind="accounts", file="imports/x.csv")
    return RecomputeJob.objects.create()


def test_a_pending_job_starts_and_finishes_once(job):
    assert jobs.job_start(job=job) and job.status == Status.RUNNING and job.started_at
    assert type(job).objects.get(pk=job.pk).status == Status.RUNNING
    assert jobs.job_finish(job=job)
    stored = type(job).objects.get(pk=job.pk)
    assert stored.status == Status.DONE and stored.finished_at and stored.is_finished
    assert stored.progress == 1.0
    assert not jobs.job_finish(job=stored)  # a second finish changes nothing
    assert not jobs.job_start(job=stored)  # nor does a redelivered task


def test_a_running_job_whose_worker_died_starts_over(job):
    jobs.job_start(job=job)
    type(job).objects.filter(pk=job.pk).update(message="half way")
    again = type(job).objects.get(pk=job.pk)
    assert jobs.job_start(job=again) and again.message == ""


def test_failing_keeps_the_message_and_the_fields_named(job):
    jobs.job_start(job=job)
    counter = "rows_done" if isinstance(job, ImportJob) else "done"
    setattr(job, counter, 7)
    assert jobs.job_fail(job=job, message="The file is not CSV.", fields=[counter])
    stored = type(job).objects.get(pk=job.pk)
    assert (stored.status, stored.message, getattr(stored, counter)) == (
        Status.FAILED, "The file is not CSV.", 7)
    assert stored.progress == 0.0  # failed, nothing known to be complete


def test_progress_reads_each_kinds_counters():
    imported = ImportJob(total_rows=200, rows_done=50)
    recompute = RecomputeJob(total=10, done=10, status=Status.RUNNING)
    assert imported.progress == 0.25 and recompute.progress == 1.0
