"""CSV imports: an upload becomes an `ImportJob` that a Celery task runs in the background,
rows validated and upserted in batches by the kind's ingester, progress and bad rows (with
their line numbers) saved after each batch."""

import csv
import io
import logging

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import jobs
from ..exceptions import InvalidInput
from ..i18n import deferred, english, is_deferred
from ..models import ImportJob
from ..text import storable
from .registry import get_ingester

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 2_000
# At most this many bad rows are stored with a job (and shown); `error_count` counts them all.
IMPORT_MAX_STORED_ERRORS = 1_000
# Each stored message is cut to this length (a message may quote a cell of any size).
IMPORT_MAX_MESSAGE_CHARS = 500
# Messages naming columns name at most this many.
MAX_NAMED_COLUMNS = 30
COUNTERS = ("total_rows", "rows_done", "created", "updated", "error_count", "errors")


def import_start(*, kind, file, user):
    """Store the upload and queue its import once the row is committed (if the broker cannot
    be reached, the job stays pending and `manage.py redrive` queues it)."""
    if get_ingester(kind) is None:
        raise InvalidInput(_("Unknown import kind “%(kind)s”.") % {"kind": kind},
                           detail={"kind": [_("Unknown kind.")]})
    job = ImportJob.objects.create(
        kind=kind, file=file, original_name=getattr(file, "name", "")[:255], created_by=user
    )
    jobs.job_enqueue(job=job)
    return job


class ImportFileError(Exception):
    """A file that cannot be imported; `parts`: what to tell the uploader, as deferred
    messages (the job's message, translated for each reader)."""

    def __init__(self, *parts):
        super().__init__(" ".join(english(part) for part in parts))
        self.parts = list(parts)


def _encoding(head):
    """The encoding of a file that starts with `head`: UTF-16 with a BOM (Excel's "Unicode
    text"), UTF-16 without one (recognised by its NUL bytes: a CSV file holds no NUL, but
    ASCII text in UTF-16 is every other byte NUL), else UTF-8 with or without a BOM."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    pairs = len(head) // 2
    if pairs:
        even = sum(1 for i in range(0, pairs * 2, 2) if head[i] == 0)
        odd = sum(1 for i in range(1, pairs * 2, 2) if head[i] == 0)
        if odd > pairs // 2 and even == 0:
            return "utf-16-le"
        if even > pairs // 2 and odd == 0:
            return "utf-16-be"
    return "utf-8-sig"


def _open_csv(file):
    file.open("rb")
    head = file.read(4096)
    file.seek(0)
    return io.TextIOWrapper(file, encoding=_encoding(head), newline="")


def _names(names):
    """Column names for a message: storable, and not more than MAX_NAMED_COLUMNS of them (a
    deferred message when some are left out: "a, b and 3 more" is worded per language)."""
    shown = ", ".join(storable(name)[:100] for name in names[:MAX_NAMED_COLUMNS])
    more = len(names) - MAX_NAMED_COLUMNS
    if more > 0:
        return deferred(gettext_noop("%(names)s and %(count)s more"), names=shown, count=more)
    return shown


def stored_errors(errors):
    """Row errors as they are stored with a job: every message storable (a NUL in a cell is
    quoted by some messages, and PostgreSQL's jsonb refuses it) and cut to
    IMPORT_MAX_MESSAGE_CHARS (a deferred message: its values)."""
    def clean(value, limit=IMPORT_MAX_MESSAGE_CHARS):
        if isinstance(value, str):
            value = storable(value)
            return value if len(value) <= limit else value[:limit - 1] + "…"
        if is_deferred(value):
            # Its values (a quoted cell) are cut so that the message as shown stays short;
            # one still too long is kept as its English text, cut.
            params = {name: clean(item, IMPORT_MAX_MESSAGE_CHARS // 3)
                      for name, item in (value.get("params") or {}).items()}
            value = {**value, "params": params}
            return value if len(english(value)) <= limit else clean(english(value), limit)
        if isinstance(value, dict):
            return {clean(key): clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return [clean(error) for error in errors]


def _record_errors(job, errors):
    """Count bad rows, and store them while fewer than IMPORT_MAX_STORED_ERRORS are: every
    path that finds a bad row goes through here, so no file can grow the job without bound."""
    job.error_count += len(errors)
    room = IMPORT_MAX_STORED_ERRORS - len(job.errors)
    if room > 0:
        job.errors.extend(stored_errors(errors[:room]))


def _count_rows(job):
    """Count data rows in a first pass; this also proves the whole file decodes, so a bad
    encoding fails the import before anything is written."""
    text = _open_csv(job.file)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        count = sum(1 for _row in reader)
    except UnicodeDecodeError as exc:
        if text.encoding.startswith("utf-16"):
            raise ImportFileError(deferred(
                gettext_noop("The file looks like UTF-16 text but does not decode as such "
                             "(%(reason)s). Save it as “CSV UTF-8” and upload it again; "
                             "nothing was imported."), reason=exc.reason)) from exc
        raise ImportFileError(deferred(
            gettext_noop("The file is not UTF-8 text (%(reason)s on line %(line)s). Save it as "
                         "“CSV UTF-8” and upload it again; nothing was imported."),
            reason=exc.reason, line=_first_undecodable_line(job))) from exc
    except csv.Error as exc:
        raise ImportFileError(deferred(
            gettext_noop("The file is not valid CSV (%(error)s, after line %(line)s); nothing "
                         "was imported."),
            error=storable(str(exc)), line=reader.line_num)) from exc
    finally:
        text.detach()
    return header, count


def _first_undecodable_line(job):
    """The line number of the first line that is not UTF-8 (the decoder reads in chunks,
    so its own position says little)."""
    job.file.open("rb")
    job.file.seek(0)
    for number, raw in enumerate(job.file, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return "?"


def _header(job, ingester):
    """The file's columns, checked against the kind's; returns (columns, notes)."""
    header, total = _count_rows(job)
    if not header or not any(column.strip() for column in header):
        raise ImportFileError(deferred(
            gettext_noop("The file is empty: the first line must name the columns, e.g. "
                         "%(columns)s."), columns=",".join(ingester.required_columns)))
    header = [column.strip().lower() for column in header]
    missing = [c for c in ingester.required_columns if c not in header]
    if missing:
        parts = [deferred(
            gettext_noop("Missing column(s): %(missing)s. The file has: %(header)s. Known "
                         "columns: %(known)s."),
            missing=", ".join(missing), header=_names(header),
            known=", ".join(ingester.columns))]
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            parts.append(deferred(gettext_noop(
                "The columns seem to be separated by something other than commas: save the "
                "file as comma-separated CSV.")))
        raise ImportFileError(*parts)
    ignored = [c for c in header if c and c not in ingester.columns]
    notes = [deferred(gettext_noop("Ignored unknown column(s): %(columns)s."),
                      columns=_names(ignored))] if ignored else []
    if total == 0:
        notes.append(deferred(gettext_noop("The file has a header but no data rows.")))
    return header, total, notes


def import_run(*, job, progress=None):
    """Run an import: a first pass counts rows, then rows are validated and upserted in
    batches; progress, counts and bad rows are saved after each batch. A job that has
    already finished is left as it is.

    What it stores is read later by people in any language: its own messages are kept as
    msgids and values (`abmcrm.core.i18n.deferred`), and it runs in English so that the
    messages of the validators it calls are stored as msgids too, translated when shown
    (those that quote no value; one that does stays English)."""
    with translation.override("en"):
        return _import_run(job=job, progress=progress)


def _import_run(*, job, progress):
    ingester = get_ingester(job.kind)
    if not jobs.job_start(job=job, reset={"rows_done": 0, "created": 0, "updated": 0,
                                          "error_count": 0, "errors": []}):
        return job
    if ingester is None:
        jobs.job_fail(job=job, message=deferred(gettext_noop(
            "Unknown import kind “%(kind)s”: the app that imported it is no longer "
            "installed."), kind=job.kind))
        return job
    try:
        header, total, notes = _header(job, ingester)
        job.total_rows = total
        jobs.job_message_set(job=job, message=notes)
        jobs.job_heartbeat(job=job, fields=["total_rows", "message", "message_data"])
        _import_rows(job, ingester, header, progress)
    except ImportFileError as exc:
        jobs.job_fail(job=job, message=exc.parts, fields=COUNTERS)
    except jobs.LeaseLost:
        # Another worker took the job over (this one was presumed dead): it runs it now.
        logger.warning("import %s: taken over by another worker; stopping here", job.pk)
    except Exception:
        # Never leave a job "running" forever: say it failed (the rows written so far stay,
        # and a rerun of the same file is harmless), then let the worker log the error.
        logger.exception("import %s failed", job.pk)
        jobs.job_fail(job=job, message=deferred(gettext_noop(
            "The import stopped on an unexpected error after %(rows)s rows; upload the file "
            "again to finish it."), rows=job.rows_done), fields=COUNTERS)
        raise
    else:
        jobs.job_finish(job=job, fields=COUNTERS)
    finally:
        job.file.close()
    return job


def _import_rows(job, ingester, header, progress):
    text = _open_csv(job.file)
    try:
        reader = csv.reader(text)
        next(reader)
        batch, lines, line, seen = [], [], reader.line_num, {}
        for values in reader:
            start_line, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                _record_errors(job, [{"line": start_line, "errors": {"non_field_errors": [
                    deferred(gettext_noop("%(fields)s fields but the header has %(columns)s."),
                             fields=len(values), columns=len(header))]}}])

                job.rows_done += 1
                continue
            batch.append(ingester.from_csv_row(dict(zip(header, values, strict=False))))
            lines.append(start_line)
            if len(batch) >= IMPORT_BATCH_SIZE:
                _import_batch(job, ingester, batch, lines, seen, progress)
                batch, lines = [], []
        if batch:
            _import_batch(job, ingester, batch, lines, seen, progress)
    finally:
        text.detach()


def _import_batch(job, ingester, batch, lines, seen, progress):
    result = ingester.ingest(batch, user=job.created_by, positions=lines, position_key="line",
                             seen=seen)
    job.created += result.created
    job.updated += result.updated
    _record_errors(job, result.errors)
    job.rows_done += len(batch)
    jobs.job_heartbeat(job=job, fields=["created", "updated", "error_count", "errors",
                                        "rows_done"])
    if progress:
        progress(job)
