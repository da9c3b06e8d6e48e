import sys

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from abmcrm.core import ingest
from abmcrm.core.models import ImportJob


class Command(BaseCommand):
    help = "Import a CSV file in the foreground with a progress bar (same rules as the API)."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="What the file holds: " + ", ".join(ingest.kinds()))
        parser.add_argument("path", help="The CSV file (UTF-8, with a header row).")
        parser.add_argument("--user", help="Username recorded as the importer.")

    def handle(self, kind, path, user=None, **options):
        if ingest.get_ingester(kind) is None:
            raise CommandError(f"Unknown kind “{kind}”; expected one of: "
                               + ", ".join(ingest.kinds()))
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No user “{user}”.")
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        with handle:
            job = ImportJob.objects.create(kind=kind, file=File(handle, name=path.rsplit("/")[-1]),
                                           original_name=path[-255:], created_by=owner)
        job = ingest.import_run(job=job, progress=self._progress)
        if self.stdout.isatty() or sys.stdout.isatty():
            self.stdout.write("")
        for error in job.errors:
            self.stderr.write(f"line {error['line']}: {ingest.errors_text(error['errors'])}")
        if job.error_count > len(job.errors):
            self.stderr.write(f"… and {job.error_count - len(job.errors)} more bad rows.")
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.message_text)
        self.stdout.write(self.style.SUCCESS(
            f"Import #{job.pk}: {job.rows_done} rows, {job.created} created, {job.updated} "
            f"updated, {job.error_count} bad." + (f" {job.message_text}" if job.message else "")
        ))

    def _progress(self, job):
        total = job.total_rows or 1
        done = min(job.rows_done, total)
        width = 30
        filled = int(width * done / total)
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows", ending=""
        )
        self.stdout.flush()
