from django.conf import settings
from django.db import models
from django.utils import timezone

from .ids import time_ordered_uuid


def job_progress(done, total, finished):
    """A background job's progress, 0–1; a job with nothing (or nothing known) to do is
    complete once it has finished."""
    if not total:
        return 1.0 if finished else 0.0
    return min(1.0, done / total)


class Job(models.Model):
    """A background job run by a Celery task, with readable progress. Its status moves only
    through `abmcrm.core.jobs` (pending → running → done or failed), so every kind of job
    has the same lifecycle. Subclasses name their progress counters in `progress_fields`
    and the task that runs them in `task` (a dotted path; the task takes the job's id), which
    is how the sweeper (`jobs.jobs_redrive`) queues again a job whose task never ran."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)
    progress_fields = ("done", "total")
    task = ""

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True, help_text="Why the job failed, if it did; notes.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When its task was last queued; empty: not queued (the broker could not be "
                  "reached), the sweeper queues it.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="While running: the last sign of life of the worker running it. Another "
                  "worker takes the job over only once this is older than the lease.")
    lease = models.CharField(max_length=32, blank=True, editable=False,
                             help_text="The run that holds the job (new at every start).")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times it was started.")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's scan: only the few jobs not finished are in it.
            models.Index(fields=["status"], name="%(app_label)s_%(class)s_open",
                         condition=models.Q(status__in=["pending", "running"])),
        ]

    @property
    def progress(self):
        done, total = (getattr(self, name) for name in self.progress_fields)
        return job_progress(done, total, self.status == self.Status.DONE)

    @property
    def is_finished(self):
        return self.status in self.FINISHED


class ImportJob(Job):
    """A CSV import run by a Celery task; progress and bad rows are readable while it runs."""

    progress_fields = ("rows_done", "total_rows")
    task = "abmcrm.core.tasks.run_import"

    kind = models.CharField(max_length=40)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta(Job.Meta):
        verbose_name = "import job"

    def __str__(self):
        return f"Import #{self.pk} ({self.kind}, {self.status})"


class OutboxEvent(models.Model):
    """One thing that happened (`abmcrm.core.outbox`): written in the transaction that made
    the change, so it exists if and only if the change committed. Consumers (webhooks,
    plays, alerts: the AppConfig hook `outbox_consumers`) read it from here after commit,
    never from in-memory signals alone.

    `id` is stable (the webhooks' delivery id) and orders the events as they were written;
    `account_id` is the account's id, without a foreign key (the core has no domain
    models)."""

    id = models.UUIDField(primary_key=True, default=time_ordered_uuid, editable=False)
    type = models.CharField(max_length=64)
    account_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    dispatched_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When every consumer took it; empty: not yet (the dispatcher, or the "
                  "sweeper, hands it over).")

    class Meta:
        verbose_name = "outbox event"
        ordering = ["id"]
        indexes = [
            # The dispatcher's scan: only the few events not handed over yet are in it.
            models.Index(fields=["id"], name="abmcore_outbox_pending",
                         condition=models.Q(dispatched_at__isnull=True)),
            # The retention sweep's scan. Partial, so that writing an event (not yet
            # dispatched) costs no entry in it: a recompute writes tens of thousands.
            models.Index(fields=["dispatched_at"], name="abmcore_outbox_dispatched",
                         condition=models.Q(dispatched_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"
