"""The one lifecycle of background jobs (abmcrm/core/jobs.py), on both kinds of job."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from abmcrm.core import jobs
from abmcrm.core.conf import settings as conf
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


def _worker_died(job, settings):
    """Age the job's heartbeat past the lease, as a dead worker leaves it."""
    type(job).objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=conf.ABMCRM_JOB_LEASE_SECONDS + 1))


def test_a_running_job_whose_worker_died_starts_over(job, settings):
    jobs.job_start(job=job)
    type(job).objects.filter(pk=job.pk).update(message="half way")
    _worker_died(job, settings)
    again = type(job).objects.get(pk=job.pk)
    assert jobs.job_start(job=again) and again.message == "" and again.lease != job.lease
    assert type(job).objects.get(pk=job.pk).attempts == 2


def test_a_redelivery_never_runs_a_job_held_by_a_live_worker(job):
    assert jobs.job_start(job=job)
    redelivered = type(job).objects.get(pk=job.pk)
    assert not jobs.job_start(job=redelivered)  # the first worker's lease is fresh
    stored = type(job).objects.get(pk=job.pk)
    assert (stored.status, stored.lease, stored.attempts) == (Status.RUNNING, job.lease, 1)


def test_a_run_that_lost_its_lease_stops_and_cannot_finish(job, settings):
    jobs.job_start(job=job)
    _worker_died(job, settings)  # it was only slow; another worker takes over
    taker = type(job).objects.get(pk=job.pk)
    assert jobs.job_start(job=taker)
    with pytest.raises(jobs.LeaseLost):
        jobs.job_heartbeat(job=job)
    assert not jobs.job_finish(job=job)
    assert jobs.job_finish(job=taker)
    assert type(job).objects.get(pk=job.pk).status == Status.DONE


def test_heartbeat_writes_progress_with_the_lease(job):
    jobs.job_start(job=job)
    counter = "rows_done" if isinstance(job, ImportJob) else "done"
    setattr(job, counter, 5)
    before = type(job).objects.get(pk=job.pk).heartbeat_at
    jobs.job_heartbeat(job=job, fields=[counter])
    stored = type(job).objects.get(pk=job.pk)
    assert getattr(stored, counter) == 5 and stored.heartbeat_at >= before


def test_a_released_job_starts_again(job):
    jobs.job_start(job=job)
    assert jobs.job_release(job=job, message="deadlock")
    stored = type(job).objects.get(pk=job.pk)
    assert (stored.status, stored.message) == (Status.PENDING, "deadlock")
    assert jobs.job_start(job=stored)


def test_messages_are_stored_without_nul_or_lone_surrogates(job):
    jobs.job_start(job=job)
    assert jobs.job_fail(job=job, message="Missing n\x00a\x00m\x00e \ud800")
    stored = type(job).objects.get(pk=job.pk)
    assert stored.status == Status.FAILED and stored.message == "Missing name \ufffd"


class TestSweeper:
    def test_queues_what_never_left_and_takes_over_what_a_dead_worker_held(
            self, job, settings, monkeypatch):
        """A job whose task could not be queued, one queued long ago that never started,
        and one whose worker died are queued again; a fresh one and a live one are not."""
        queued = []
        monkeypatch.setattr(jobs, "publish", lambda task, pk: queued.append(pk) or True)
        model, now = type(job), timezone.now()
        old = now - timedelta(seconds=conf.ABMCRM_JOB_STUCK_AFTER + 1)
        never_queued = job
        lost = model.objects.create(**_same_kind(job), queued_at=old)
        fresh = model.objects.create(**_same_kind(job), queued_at=now)
        dead = model.objects.create(**_same_kind(job), queued_at=old)
        jobs.job_start(job=dead)
        _worker_died(dead, settings)
        live = model.objects.create(**_same_kind(job), queued_at=old)
        jobs.job_start(job=live)
        assert jobs.jobs_redrive() == {"queued": 3, "not_queued": 0, "failed": 0}
        assert sorted(queued) == sorted([never_queued.pk, lost.pk, dead.pk])
        assert model.objects.get(pk=fresh.pk).queued_at == now
        assert model.objects.get(pk=never_queued.pk).queued_at is not None

    def test_fails_a_job_whose_worker_died_every_time(self, job, settings, monkeypatch):
        monkeypatch.setattr(jobs, "publish", lambda task, pk: True)
        for _ in range(conf.ABMCRM_JOB_MAX_ATTEMPTS):
            stored = type(job).objects.get(pk=job.pk)
            assert jobs.job_start(job=stored)
            _worker_died(job, settings)
        assert jobs.jobs_redrive() == {"queued": 0, "not_queued": 0, "failed": 1}
        stored = type(job).objects.get(pk=job.pk)
        assert stored.status == Status.FAILED and "Stopped after 3 attempts" in stored.message

    def test_a_broker_still_down_is_counted(self, job, monkeypatch):
        monkeypatch.setattr(jobs, "publish", lambda task, pk: False)
        assert jobs.jobs_redrive() == {"queued": 0, "not_queued": 1, "failed": 0}
        assert type(job).objects.get(pk=job.pk).queued_at is None


def _same_kind(job):
    return ({"kind": "accounts", "file": "imports/x.csv"} if isinstance(job, ImportJob)
            else {})


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="Races need concurrent writers; SQLite serialises them (run on "
                           "PostgreSQL).")
@pytest.mark.parametrize("kind", ["import", "recompute"])
def test_two_deliveries_starting_one_job_at_once_start_it_once(kind):
    """A task redelivered while the first delivery starts: one run holds the lease."""
    from tests.conftest import fire_together

    model = ImportJob if kind == "import" else RecomputeJob
    job = model.objects.create(**_same_kind(ImportJob(kind="accounts")) if kind == "import"
                               else {})

    def start():
        return jobs.job_start(job=model.objects.get(pk=job.pk))

    results = fire_together([start] * 6)
    assert sorted(results) == [False] * 5 + [True]
    assert model.objects.get(pk=job.pk).attempts == 1


def test_a_jobs_message_is_translated_for_each_reader(job):
    """Kept as msgids and values: the column holds the English, each reader their language;
    a message from outside (an exception's text) is kept as it is."""
    from django.utils import translation

    from abmcrm.core.i18n import deferred

    jobs.job_start(job=job)
    jobs.job_release(job=job, message=jobs.retry_message(RuntimeError("deadlock detected")))
    stored = type(job).objects.get(pk=job.pk)
    assert stored.message == "Retrying after a database error: deadlock detected"
    assert stored.message_text == stored.message
    jobs.job_start(job=stored)
    assert jobs.job_fail(job=stored, message=[
        deferred("Ignored unknown column(s): %(columns)s.", columns="x"),
        deferred("The file has a header but no data rows.")])
    stored = type(job).objects.get(pk=job.pk)
    assert stored.message == (
        "Ignored unknown column(s): x. The file has a header but no data rows.")
    with translation.override("id"):
        no_rows = translation.gettext("The file has a header but no data rows.")
        assert no_rows != "The file has a header but no data rows."
        assert stored.message_text == f"Kolom tidak dikenal diabaikan: x. {no_rows}"
    type(job).objects.filter(pk=job.pk).update(message="ValueError: boom", message_data=[])
    with translation.override("ko"):
        assert type(job).objects.get(pk=job.pk).message_text == "ValueError: boom"
