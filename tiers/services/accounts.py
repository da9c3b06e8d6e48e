"""Accounts and contacts: create, update, and the bulk upserts behind the bulk endpoints and
CSV imports."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_noop

from abmcrm.core import i18n, ingest

from .. import scoring
from ..models import Account, Contact, Technology
from ..personas import Classifier
from .personas import accounts_persona_rescore, persona_fields, persona_of
from .recompute import accounts_recompute_queue

ACCOUNT_FIELDS = (
    "name", "domain", "external_id", "industry", "country", "region", "employees",
    "annual_revenue", "funding_stage", "customer_count", "maturity", "estimated_acv", "owner",
    "is_customer", "renewal_count",
)
CONTACT_FIELDS = ("first_name", "last_name", "title", "buying_role", "address_line1",
                  "address_line2", "city", "postal_code", "state", "country", "job_function",
                  "seniority", "persona_overridden", "contact_fit", "account_match",
                  "account_match_score")


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
    # Only what was given: the scores on the row (the recompute's, the in-market scoring's)
    # may have been written since it was read, and saving them back would undo that.
    account.save(update_fields=[*fields, "updated_at"])
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
                i18n.deferred(gettext_noop("Duplicate domain in this batch (first at "
                                           "%(position)s)."),
                              position=seen_domains[data["domain"]])]}))
            continue
        if ext and ext in seen_external:
            errors.append((pos, {"external_id": [
                i18n.deferred(gettext_noop("Duplicate external_id in this batch (first at "
                                           "%(position)s)."),
                              position=seen_external[ext])]}))
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
                    i18n.deferred(gettext_noop("Domain %(domain)s belongs to the account with "
                                               "external_id %(external_id)s."),
                                  domain=data["domain"], external_id=account.external_id)]}))
                continue
        elif data["domain"] != account.domain and data["domain"] in by_domain:
            errors.append((pos, {"domain": [
                i18n.deferred(gettext_noop("Domain %(domain)s already belongs to another "
                                           "account."), domain=data["domain"])]}))
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
    """Upsert contacts by (account, e-mail), each with the persona of its title (unless set
    by hand) and its fit; the accounts' committees follow. Returns (created, updated,
    unchanged, errors)."""
    def key(data):
        return data["account"].pk, data["email"]

    unique, errors = ingest.dedupe(rows, key=key, message=lambda first: {"email": [
        i18n.deferred(gettext_noop("Duplicate contact in this batch (first at %(position)s)."),
                      position=first)]})

    existing = {
        (c.account_id, c.email): c
        for c in Contact.objects.filter(
            account_id__in={d["account"].pk for _, d in unique},
            email__in={d["email"] for _, d in unique},
        )
    }
    classifier, personas = Classifier.from_db(), scoring.active_personas()
    rows, persona_changed = [], set()
    for position, data in unique:
        current = existing.get(key(data))
        title = data.get("title", current.title if current else "")
        data = {**data, **persona_fields(title=title, data=data, current=current,
                                         classifier=classifier, personas=personas)}
        if current is not None and persona_of(current) != (data["job_function"],
                                                           data["seniority"]):
            persona_changed.add(current.account_id)
        rows.append((position, data))
    upsert = ingest.Upsert().match(rows, existing=existing, key=key, fields=CONTACT_FIELDS,
                                   build=lambda data: Contact(**data), now=timezone.now())
    with transaction.atomic():
        upsert.write(Contact)
        scoring.refresh_committees(sorted({data["account"].pk for _, data in rows}))
        if persona_changed:
            accounts_persona_rescore(account_ids=persona_changed)
    return len(upsert.created), upsert.updated, upsert.unchanged, errors
