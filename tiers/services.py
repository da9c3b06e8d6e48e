import csv
import io
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import ingest
from .exceptions import InvalidInput
from .models import Account, Contact, ImportJob, Technology

logger = logging.getLogger(__name__)

ACCOUNT_FIELDS = (
    "name", "domain", "external_id", "industry", "country", "region", "employees",
    "annual_revenue", "funding_stage", "customer_count", "maturity", "estimated_acv", "owner",
    "is_customer", "renewal_count",
)
CONTACT_FIELDS = ("first_name", "last_name", "title", "buying_role")
IMPORT_BATCH_SIZE = 2_000
IMPORT_MAX_STORED_ERRORS = 1_000


# Accounts ----------------------------------------------------------------------------------

def technologies_get_or_create(*, names):
    """{lower-cased name: Technology}, creating the missing ones in one statement."""
    wanted = {}
    for name in names:
        slug = slugify(name)[:100] or name.lower()[:100]
        wanted.setdefault(slug, name)
    if not wanted:
        return {}
    existing = {t.slug: t for t in Technology.objects.filter(slug__in=list(wanted))}
    missing = [Technology(name=name, slug=slug) for slug, name in wanted.items()
               if slug not in existing]
    if missing:
        Technology.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.slug: t for t in Technology.objects.filter(slug__in=list(wanted))}
    return {name.lower(): existing[slug] for slug, name in wanted.items() if slug in existing}


def _set_technologies(*, accounts_names):
    """Replace the technologies of several accounts: {account_id: [names]}."""
    if not accounts_names:
        return
    names = {name for names in accounts_names.values() for name in names}
    by_name = technologies_get_or_create(names=names)
    through = Account.technologies.through
    through.objects.filter(account_id__in=list(accounts_names)).delete()
    through.objects.bulk_create(
        [
            through(account_id=account_id, technology_id=by_name[name.lower()].pk)
            for account_id, names in accounts_names.items()
            for name in {n.lower(): n for n in names}.values()
            if name.lower() in by_name
        ],
        ignore_conflicts=True,
    )


def account_set_technologies(*, account, names):
    _set_technologies(accounts_names={account.pk: names})


@transaction.atomic
def account_create(*, technologies=None, **fields):
    account = Account.objects.create(**fields)
    if technologies is not None:
        account_set_technologies(account=account, names=technologies)
    return account


@transaction.atomic
def account_update(*, account, technologies=None, **fields):
    for name, value in fields.items():
        setattr(account, name, value)
    account.save()
    if technologies is not None:
        account_set_technologies(account=account, names=technologies)
    return account


def _clean_external_id(data):
    if "external_id" in data:
        data["external_id"] = (data["external_id"] or "").strip() or None
    return data


def _bulk_update(model, objects, fields):
    """Update loaded rows by primary key with INSERT … ON CONFLICT (id) DO UPDATE: one
    statement per batch, several times faster than bulk_update's CASE WHEN."""
    model.objects.bulk_create(objects, update_conflicts=True, unique_fields=["id"],
                              update_fields=fields, batch_size=1000)


def account_bulk_upsert(*, rows):
    """Upsert accounts by `external_id`, else by domain.

    `rows` is a list of (position, validated data). Fields a row leaves out are left as they
    are. Returns (created, updated, unchanged, errors)."""
    errors = []
    rows = [(pos, _clean_external_id(dict(data))) for pos, data in rows]
    # Within one batch a domain or an external id may appear once: the later row is refused.
    seen_domains, seen_external, unique_rows = {}, {}, []
    for pos, data in rows:
        ext = data.get("external_id")
        if data["domain"] in seen_domains:
            errors.append((pos, {"domain": [
                f"Duplicate domain in this batch (first at {seen_domains[data['domain']]})."]}))
            continue
        if ext and ext in seen_external:
            errors.append((pos, {"external_id": [
                f"Duplicate external_id in this batch (first at {seen_external[ext]})."]}))
            continue
        seen_domains[data["domain"]] = pos
        if ext:
            seen_external[ext] = pos
        unique_rows.append((pos, data))

    externals = [d["external_id"] for _, d in unique_rows if d.get("external_id")]
    domains = [d["domain"] for _, d in unique_rows]
    # Two index lookups rather than one OR, which the planner may turn into a table scan.
    existing = {a.pk: a for a in Account.objects.filter(domain__in=domains)}
    if externals:
        existing.update((a.pk, a) for a in Account.objects.filter(external_id__in=externals)
                        if a.pk not in existing)
    existing = list(existing.values())
    by_external = {a.external_id: a for a in existing if a.external_id}
    by_domain = {a.domain: a for a in existing}
    current_technologies = defaultdict(set)
    for account_id, slug in Account.technologies.through.objects.filter(
        account_id__in=[a.pk for a in existing]
    ).values_list("account_id", "technology__slug"):
        current_technologies[account_id].add(slug)

    to_create, to_update, technologies, new_technologies = [], {}, {}, []
    updated = unchanged = 0
    now = timezone.now()
    for pos, data in unique_rows:
        names = data.pop("technologies", None)
        ext = data.get("external_id")
        account = by_external.get(ext) if ext else None
        if account is None:
            account = by_domain.get(data["domain"])
            if account is not None and ext and account.external_id and account.external_id != ext:
                errors.append((pos, {"domain": [
                    f"Domain {data['domain']} belongs to the account with external_id "
                    f"{account.external_id}."]}))
                continue
        elif data["domain"] != account.domain and data["domain"] in by_domain:
            errors.append((pos, {"domain": [
                f"Domain {data['domain']} already belongs to another account."]}))
            continue
        if account is None:
            to_create.append(Account(**data))
            if names is not None:
                new_technologies.append((to_create[-1], names))
            continue
        changed = [f for f, v in data.items()
                   if getattr(account, f"{f}_id" if f == "owner" else f)
                   != (v.pk if f == "owner" and v is not None else v)]
        for field in changed:
            setattr(account, field, data[field])
        if names is not None and {slugify(n)[:100] for n in names} != current_technologies[
            account.pk
        ]:
            technologies[account.pk] = names
        if changed:
            account.updated_at = now
            to_update.setdefault(frozenset(changed), []).append(account)
        if changed or account.pk in technologies:
            updated += 1
        else:
            unchanged += 1

    with transaction.atomic():
        Account.objects.bulk_create(to_create, batch_size=1000)
        for fields, accounts in to_update.items():
            _bulk_update(Account, accounts, [*fields, "updated_at"])
        for account, names in new_technologies:
            technologies[account.pk] = names
        _set_technologies(accounts_names=technologies)
    return len(to_create), updated, unchanged, errors


def contact_bulk_upsert(*, rows):
    """Upsert contacts by (account, e-mail). Returns (created, updated, unchanged, errors)."""
    errors, seen, unique_rows = [], {}, []
    for pos, data in rows:
        key = (data["account"].pk, data["email"])
        if key in seen:
            errors.append((pos, {"email": [
                f"Duplicate contact in this batch (first at {seen[key]})."]}))
            continue
        seen[key] = pos
        unique_rows.append((pos, data))
    existing = {
        (c.account_id, c.email): c
        for c in Contact.objects.filter(
            account_id__in={d["account"].pk for _, d in unique_rows},
            email__in={d["email"] for _, d in unique_rows},
        )
    }
    to_create, to_update, unchanged = [], {}, 0
    now = timezone.now()
    for _, data in unique_rows:
        contact = existing.get((data["account"].pk, data["email"]))
        if contact is None:
            to_create.append(Contact(**data))
            continue
        changed = [f for f in CONTACT_FIELDS if f in data and getattr(contact, f) != data[f]]
        for field in changed:
            setattr(contact, field, data[field])
        if changed:
            contact.updated_at = now
            to_update.setdefault(frozenset(changed), []).append(contact)
        else:
            unchanged += 1
    with transaction.atomic():
        Contact.objects.bulk_create(to_create, batch_size=1000)
        for fields, contacts in to_update.items():
            _bulk_update(Contact, contacts, [*fields, "updated_at"])
    return len(to_create), sum(map(len, to_update.values())), unchanged, errors


def bulk_ingest(*, kind, items, user):
    """The bulk endpoints' service: validate and upsert up to MAX_BULK_ITEMS items."""
    if not isinstance(items, list):
        raise InvalidInput("Expected a JSON list of objects.")
    if len(items) > ingest.MAX_BULK_ITEMS:
        raise InvalidInput(
            f"Too many items: {len(items)}; send at most {ingest.MAX_BULK_ITEMS} per request."
        )
    ingester = ingest.get_ingester(kind)
    try:
        return ingester.ingest(items, user=user)
    except IntegrityError:
        # A concurrent request created the same rows between our read and our write:
        # the second pass sees them and updates instead.
        logger.info("bulk %s: retrying after a concurrent insert", kind)
        return ingester.ingest(items, user=user)


# CSV imports -------------------------------------------------------------------------------

def import_start(*, kind, file, user):
    """Store the upload and queue its import once the row is committed."""
    from .tasks import run_import

    if ingest.get_ingester(kind) is None:
        raise InvalidInput(f"Unknown import kind “{kind}”.", detail={"kind": ["Unknown kind."]})
    job = ImportJob.objects.create(
        kind=kind, file=file, original_name=getattr(file, "name", "")[:255], created_by=user
    )
    transaction.on_commit(lambda: run_import.delay(job.pk))
    return job


class ImportFileError(Exception):
    pass


def _open_csv(file):
    """UTF-8 with or without a BOM, or UTF-16 with a BOM (Excel's "Unicode text")."""
    file.open("rb")
    head = file.read(2)
    file.seek(0)
    encoding = "utf-16" if head in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    return io.TextIOWrapper(file, encoding=encoding, newline="")


def _count_rows(job):
    """Count data rows in a first pass; this also proves the whole file decodes, so a bad
    encoding fails the import before anything is written."""
    text = _open_csv(job.file)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        count = sum(1 for _ in reader)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 text ({exc.reason} near line {reader.line_num + 1}). "
            "Save it as “CSV UTF-8” and upload it again; nothing was imported."
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from exc
    finally:
        text.detach()
    return header, count


def import_run(*, job, progress=None):
    """Run an import: a first pass counts rows, then rows are validated and upserted in
    batches; progress, counts and bad rows (with line numbers) are saved after each batch."""
    ingester = ingest.get_ingester(job.kind)
    job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
    job.rows_done = job.created = job.updated = job.error_count = 0
    job.errors, job.message = [], ""
    job.save()
    try:
        header, total = _count_rows(job)
        if not header or not any(column.strip() for column in header):
            raise ImportFileError(
                "The file is empty: the first line must name the columns, e.g. "
                + ",".join(ingester.required_columns) + "."
            )
        header = [column.strip().lower() for column in header]
        missing = [c for c in ingester.required_columns if c not in header]
        if missing:
            raise ImportFileError(
                f"Missing column(s): {', '.join(missing)}. The file has: {', '.join(header)}. "
                f"Known columns: {', '.join(ingester.columns)}."
            )
        ignored = [c for c in header if c and c not in ingester.columns]
        notes = [f"Ignored unknown column(s): {', '.join(ignored)}."] if ignored else []
        if total == 0:
            notes.append("The file has a header but no data rows.")
        job.total_rows, job.message = total, " ".join(notes)
        job.save(update_fields=["total_rows", "message"])

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
                    job.errors.append({"line": start_line, "errors": {"non_field_errors": [
                        f"{len(values)} fields but the header has {len(header)}."]}})
                    job.error_count += 1
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
        job.status = ImportJob.Status.DONE
    except ImportFileError as exc:
        job.status, job.message = ImportJob.Status.FAILED, str(exc)
    finally:
        job.file.close()
    job.finished_at = timezone.now()
    job.save()
    return job


def _import_batch(job, ingester, batch, lines, seen, progress):
    result = ingester.ingest(batch, user=job.created_by, positions=lines, position_key="line",
                             seen=seen)
    job.created += result.created
    job.updated += result.updated
    job.error_count += len(result.errors)
    room = IMPORT_MAX_STORED_ERRORS - len(job.errors)
    if room > 0:
        job.errors.extend(result.errors[:room])
    job.rows_done += len(batch)
    job.save(update_fields=["created", "updated", "error_count", "errors", "rows_done"])
    if progress:
        progress(job)
