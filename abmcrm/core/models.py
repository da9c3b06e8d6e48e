from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import i18n
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
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.DONE, Status.FAILED)
    progress_fields = ("done", "total")
    task = ""

    status = models.CharField(_("status"),
                              max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(_("message"),
                               blank=True, help_text=_("Why the job failed, if it did; notes."))
    # The message as it is shown: `message` is written in English once, but the job is read
    # by people in four languages, so its parts are kept as msgids and values too and
    # translated when read (`message_text`). Empty: `message` is all there is (a job finished
    # before this was kept, or a message from outside such as an exception's text). A
    # database default too: a process still running the code before it inserts without it.
    message_data = models.JSONField(
        _("message data"), default=list, db_default=[], blank=True, editable=False,
        help_text=_("The message as msgids and values, translated for each reader."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    queued_at = models.DateTimeField(
        _("queued at"), null=True, blank=True,
        help_text=_("When its task was last queued; empty: not queued (the broker could not be "
                  "reached), the sweeper queues it."))
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"), null=True, blank=True,
        help_text=_("While running: the last sign of life of the worker running it. Another "
                  "worker takes the job over only once this is older than the lease."))
    lease = models.CharField(_("lease"), max_length=32, blank=True, editable=False,
                             help_text=_("The run that holds the job (new at every start)."))
    attempts = models.PositiveSmallIntegerField(_("attempts"),
                                                default=0, help_text=_("Times it was started."))

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

    @property
    def message_text(self):
        """The message in the active language."""
        return i18n.translated_message(self.message_data, self.message)

    message_text.fget.short_description = _("message")


class ImportJob(Job):
    """A CSV import run by a Celery task; progress and bad rows are readable while it runs."""

    progress_fields = ("rows_done", "total_rows")
    task = "abmcrm.core.tasks.run_import"

    kind = models.CharField(_("kind"), max_length=40)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    total_rows = models.PositiveIntegerField(_("total rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("rows created"), default=0)
    updated = models.PositiveIntegerField(_("rows updated"), default=0)
    error_count = models.PositiveIntegerField(_("error count"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta(Job.Meta):
        verbose_name_plural = _("import jobs")
        verbose_name = _("import job")

    def __str__(self):
        return f"Import #{self.pk} ({self.kind}, {self.status})"

    @property
    def translated_errors(self):
        """The bad rows with their messages in the active language: [{"line", "errors":
        {field: [messages]}}], as `errors` is read by people."""
        return i18n.translated_tree(self.errors)


class OutboxEvent(models.Model):
    """One thing that happened (`abmcrm.core.outbox`): written in the transaction that made
    the change, so it exists if and only if the change committed. Consumers (webhooks,
    plays, alerts: the AppConfig hook `outbox_consumers`) read it from here after commit,
    never from in-memory signals alone.

    `id` is stable (the webhooks' delivery id) and orders the events as they were written;
    `account_id` is the account's id, without a foreign key (the core has no domain
    models)."""

    id = models.UUIDField(_("event id"),
                          primary_key=True, default=time_ordered_uuid, editable=False)
    type = models.CharField(_("event type"), max_length=64)
    account_id = models.BigIntegerField(_("account id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    dispatched_at = models.DateTimeField(
        _("dispatched at"), null=True, blank=True,
        help_text=_("When every consumer took it; empty: not yet (the dispatcher, or the "
                    "sweeper, hands it over)."))

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
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
