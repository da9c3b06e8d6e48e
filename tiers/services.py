import csv
import datetime
import hashlib
import io
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import ingest
from .exceptions import Conflict, InvalidInput
from .models import (
    Account,
    Contact,
    EngagementEvent,
    IcpCriterion,
    IcpProfile,
    ImportJob,
    IntentSignal,
    RecomputeJob,
    Technology,
    TierAssignment,
)

logger = logging.getLogger(__name__)

ACCOUNT_FIELDS = (
    "name", "domain", "external_id", "industry", "country", "region", "employees",
    "annual_revenue", "funding_stage", "customer_count", "maturity", "estimated_acv", "owner",
    "is_customer", "renewal_count",
)
CONTACT_FIELDS = ("first_name", "last_name", "title", "buying_role", "address_line1",
                  "address_line2", "city", "postal_code", "state", "country")
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
    accounts_recompute_queue(account_ids=[account.pk])
    return account


@transaction.atomic
def account_update(*, account, technologies=None, **fields):
    for name, value in fields.items():
        setattr(account, name, value)
    account.save()
    if technologies is not None:
        account_set_technologies(account=account, names=technologies)
    # Firmographics and ACV drive fit and the tier rules.
    accounts_recompute_queue(account_ids=[account.pk])
    return account


def _clean_external_id(data):
    if "external_id" in data:
        data["external_id"] = (data["external_id"] or "").strip() or None
    return data


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
        changed = ingest.stage_changes(account, data, ACCOUNT_FIELDS, now=now, pending=to_update)
        if names is not None and {slugify(n)[:100] for n in names} != current_technologies[
            account.pk
        ]:
            technologies[account.pk] = names
        if changed or account.pk in technologies:
            updated += 1
        else:
            unchanged += 1

    with transaction.atomic():
        Account.objects.bulk_create(to_create, batch_size=1000)
        ingest.write_changes(Account, to_update)
        for account, names in new_technologies:
            technologies[account.pk] = names
        _set_technologies(accounts_names=technologies)
        accounts_recompute_queue(account_ids=[
            *(a.pk for a in to_create), *(a.pk for group in to_update.values() for a in group),
            *technologies,
        ])
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
        if not ingest.stage_changes(contact, data, CONTACT_FIELDS, now=now, pending=to_update):
            unchanged += 1
    with transaction.atomic():
        Contact.objects.bulk_create(to_create, batch_size=1000)
        ingest.write_changes(Contact, to_update)
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
            f"The file is not UTF-8 text ({exc.reason} on line {_first_undecodable_line(job)})."
            " Save it as “CSV UTF-8” and upload it again; nothing was imported."
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from exc
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
            hint = ""
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
                hint = (" The columns seem to be separated by something other than commas: "
                        "save the file as comma-separated CSV.")
            raise ImportFileError(
                f"Missing column(s): {', '.join(missing)}. The file has: {', '.join(header)}. "
                f"Known columns: {', '.join(ingester.columns)}.{hint}"
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
    except Exception:
        # Never leave a job "running" forever: say it failed (the rows written so far stay,
        # and a rerun of the same file is harmless), then let the worker log the error.
        logger.exception("import %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.message = ("The import stopped on an unexpected error after "
                       f"{job.rows_done} rows; upload the file again to finish it.")
        job.finished_at = timezone.now()
        job.save()
        raise
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


# Intent signals and engagement events ------------------------------------------------------

def accounts_recompute_queue(*, account_ids):
    """Rescore and retier these accounts in the worker once the current transaction commits."""
    from .tasks import recompute_accounts

    ids = sorted({int(pk) for pk in account_ids})
    if ids:
        transaction.on_commit(lambda: recompute_accounts.delay(ids))


def intent_signal_bulk_upsert(*, rows):
    """Upsert weekly intent signals by (account, topic, source, week). Returns (created,
    updated, unchanged, errors); the affected accounts are rescored after commit."""
    errors, seen, unique_rows = [], {}, []
    for pos, data in rows:
        key = (data["account"].pk, data["topic"], data["source"], data["week"])
        if key in seen:
            errors.append((pos, {"non_field_errors": [
                f"Duplicate signal in this batch (first at {seen[key]}): same account, "
                "topic, source and week."]}))
            continue
        seen[key] = pos
        unique_rows.append((pos, data))
    existing = {
        (s.account_id, s.topic, s.source, s.week): s
        for s in IntentSignal.objects.filter(
            account_id__in={k[0] for k in seen}, week__in={k[3] for k in seen},
            topic__in={k[1] for k in seen},
        ).only("id", "account_id", "topic", "source", "week", "score")
    }
    to_create, to_update, unchanged = [], [], 0
    now = timezone.now()
    for _, data in unique_rows:
        key = (data["account"].pk, data["topic"], data["source"], data["week"])
        signal = existing.get(key)
        if signal is None:
            to_create.append(IntentSignal(account_id=key[0], topic=key[1], source=key[2],
                                          week=key[3], score=data["score"]))
        elif signal.score != data["score"]:
            signal.score, signal.updated_at = data["score"], now
            to_update.append(signal)
        else:
            unchanged += 1
    with transaction.atomic():
        IntentSignal.objects.bulk_create(to_create, batch_size=1000)
        IntentSignal.objects.bulk_update(to_update, ["score", "updated_at"], batch_size=1000)
        accounts_recompute_queue(account_ids=[s.account_id for s in [*to_create, *to_update]])
    return len(to_create), len(to_update), unchanged, errors


def engagement_dedupe_key(*, account_id, kind_key, occurred_at, contact_id, source,
                          external_id):
    if external_id:
        return f"x:{external_id}"
    moment = occurred_at.astimezone(datetime.UTC).isoformat()
    raw = f"{account_id}|{kind_key}|{moment}|{contact_id or ''}|{source}"
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()


def engagement_event_bulk_insert(*, rows):
    """Record engagement events once each: an event seen before (same external_id, or, without
    one, same account, kind, time, contact and source) is reported, not counted again."""
    errors, seen, unique_rows = [], {}, []
    for pos, data in rows:
        key = engagement_dedupe_key(
            account_id=data["account"].pk, kind_key=data["kind"].key,
            occurred_at=data["occurred_at"], contact_id=data["contact"] and data["contact"].pk,
            source=data.get("source") or "", external_id=data.get("external_id"),
        )
        if key in seen:
            errors.append((pos, {"external_id" if data.get("external_id") else
                                 "non_field_errors": [
                                     f"Duplicate event in this batch (first at {seen[key]})."]}))
            continue
        seen[key] = pos
        unique_rows.append((pos, key, data))
    known = set(EngagementEvent.objects.filter(dedupe_key__in=list(seen))
                .values_list("dedupe_key", flat=True))
    to_create = []
    for pos, key, data in unique_rows:
        if key in known:
            field = "external_id" if data.get("external_id") else "non_field_errors"
            errors.append((pos, {field: [
                "This event was already recorded; it is not counted twice."]}))
            continue
        to_create.append(EngagementEvent(
            account_id=data["account"].pk, contact=data["contact"], kind=data["kind"],
            occurred_at=data["occurred_at"], source=data.get("source") or "",
            external_id=data.get("external_id"), dedupe_key=key,
        ))
    with transaction.atomic():
        EngagementEvent.objects.bulk_create(to_create, batch_size=1000)
        accounts_recompute_queue(account_ids=[e.account_id for e in to_create])
    return len(to_create), 0, 0, errors


# Recompute ---------------------------------------------------------------------------------

def tiers_recompute(*, account_ids=None, now=None, by=None, progress=None):
    """Rescore and retier all accounts, or the given ones. Returns a RecomputeResult."""
    from . import scoring

    return scoring.recompute(account_ids=account_ids, now=now, by=by, progress=progress)


def recompute_start(*, user, account_ids=None):
    """Create a recompute job and queue it once committed."""
    from .tasks import run_recompute

    if account_ids is not None:
        account_ids = sorted(set(account_ids))
        found = set(Account.objects.filter(pk__in=account_ids).values_list("pk", flat=True))
        missing = [pk for pk in account_ids if pk not in found]
        if missing:
            raise InvalidInput("Unknown account ids.", detail={"accounts": [
                f"No account with id {', '.join(map(str, missing[:20]))}."]})
    job = RecomputeJob.objects.create(account_ids=account_ids, created_by=user)
    transaction.on_commit(lambda: run_recompute.delay(job.pk))
    return job


def recompute_run(*, job, progress=None):
    """Run a recompute job, saving its progress after each chunk."""
    job.status, job.started_at, job.done, job.message = (
        RecomputeJob.Status.RUNNING, timezone.now(), 0, "")
    job.save(update_fields=["status", "started_at", "done", "message"])

    def report(done, total):
        job.done, job.total = done, total
        job.save(update_fields=["done", "total"])
        if progress:
            progress(done, total)

    try:
        result = tiers_recompute(account_ids=job.account_ids, progress=report)
    except Exception as exc:
        job.status, job.message = RecomputeJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        raise
    job.status, job.result, job.finished_at = (
        RecomputeJob.Status.DONE, result.as_dict(), timezone.now())
    job.save(update_fields=["status", "result", "finished_at"])
    return job


# Tier overrides ----------------------------------------------------------------------------

def account_tier_override(*, account, tier, reason, by):
    """Put an account in a tier (or none) by hand and lock it against recomputation."""
    from . import signals

    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you override the tier.", detail={"reason": [
            "A reason is required."]})
    old_tier = account.tier
    with transaction.atomic():
        moved = Account.objects.filter(pk=account.pk, tier_id=account.tier_id).update(
            tier=tier, tier_rule=None, tier_locked=True)
        if not moved:
            raise Conflict("The account's tier changed meanwhile; reload and try again.")
        account.refresh_from_db()
        assignment = TierAssignment.objects.create(
            account=account, old_tier=old_tier, new_tier=tier, rule=None,
            cause=TierAssignment.Cause.OVERRIDE, reason=reason, by=by,
            fit_score=account.fit_score, intent_score=account.intent_score,
            engagement_score=account.engagement_score,
        )
        if (old_tier and old_tier.pk) != (tier and tier.pk):
            signals.tier_changed.send(sender=Account, account=account, old_tier=old_tier,
                                      new_tier=tier, assignment=assignment, by=by)
            signals.tiers_changed.send(sender=Account, by=by,
                                       changes=[(account, old_tier, tier, assignment)])
            signals.tiers_changed_ids.send(sender=Account, by=by, changes=[
                (account.pk, old_tier and old_tier.pk, tier and tier.pk, assignment.pk)])
    return assignment


def account_tier_unlock(*, account, by, reason=""):
    """Hand the account back to the rules: unlock it and place it by them at once."""
    from . import scoring

    with transaction.atomic():
        unlocked = Account.objects.filter(pk=account.pk, tier_locked=True).update(
            tier_locked=False)
        if not unlocked:
            raise Conflict("The account's tier is not locked.")
        scoring.retier(account_ids=[account.pk], by=by)
    account.refresh_from_db()
    return account


# ICP ---------------------------------------------------------------------------------------

@transaction.atomic
def icp_profile_activate(*, profile):
    """Make this profile the one active ICP (a partial unique index allows one)."""
    try:
        with transaction.atomic():
            IcpProfile.objects.exclude(pk=profile.pk).filter(is_active=True).update(
                is_active=False)
            IcpProfile.objects.filter(pk=profile.pk).update(is_active=True)
    except IntegrityError as exc:
        raise Conflict("Another ICP profile was activated at the same moment; reload and "
                       "try again.", code="concurrent_change") from exc
    profile.is_active = True
    return profile


def icp_suggestion_apply(*, attribute, value, weight=1):
    """Turn an ICP suggestion into a criterion of the active profile (created if missing)."""
    from . import selectors

    suggestion = next((s for s in selectors.icp_suggestions(limit=10_000)
                       if s["attribute"] == attribute and s["value"] == value), None)
    if suggestion is None:
        raise InvalidInput("No such suggestion.", detail={"value": [
            f"“{value}” is not a current suggestion for “{attribute}”; "
            "see GET /api/v1/icp/suggestions/."]})
    with transaction.atomic():
        profile = IcpProfile.objects.select_for_update().filter(is_active=True).first()
        if profile is None:
            profile = IcpProfile.objects.create(name="ICP", is_active=True)
        if attribute in IcpCriterion.SET_ATTRIBUTES:
            criterion = IcpCriterion.objects.create(profile=profile, attribute=attribute,
                                                    values=[value], weight=weight)
        else:
            criterion = IcpCriterion.objects.create(
                profile=profile, attribute=attribute, min_value=suggestion["min_value"],
                max_value=None if suggestion["max_value"] is None else suggestion["max_value"],
                weight=weight)
    return criterion
