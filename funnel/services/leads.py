"""Demand-gen leads: created and upserted, matched to an account by e-mail domain (or by
company name for a free-mail address), entering the demand-gen side's first stage."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from abmcrm.core import i18n, ingest
from tiers.companies import match_accounts

from .. import conf, selectors, signals
from ..models import Lead, Stage, StageTransition

LEAD_FIELDS = ("first_name", "last_name", "company", "account", "channel", "campaign",
               "external_id")


def _entry_stage():
    path = selectors.side_path(Stage.Side.DEMAND_GEN)
    return path[0] if path and conf.settings.ABMCRM_FUNNEL_LEAD_ENTERS_FIRST_STAGE else None


def _match_accounts(people):
    """{e-mail: {account, account_match, account_match_score}} for [(e-mail, company)]: by
    e-mail domain, or by company name for a free-mail address; the accounts' names are read
    once for the whole batch."""
    return {email: {"account": account, "account_match": method,
                    "account_match_score": score}
            for (email, _), (account, method, score) in match_accounts(people).items()}


NO_MATCH = {"account": None, "account_match": "", "account_match_score": None}


def _enter_leads(leads, user):
    """New leads enter the demand-gen side's first stage at their creation time."""
    stage = _entry_stage()
    if stage is None or not leads:
        return
    created = StageTransition.objects.bulk_create([
        StageTransition(lead=lead, to_stage=stage, occurred_at=lead.created_at,
                        channel=lead.channel, campaign=lead.campaign,
                        recorded_by=user if getattr(user, "pk", None) else None)
        for lead in leads
    ], batch_size=2000)
    signals.transitions_recorded.send(sender=StageTransition, transitions=[
        (t.lead.account_id, t.to_stage_id, t.campaign_id) for t in created])


def _lead_entry_fields(created_at):
    stage = _entry_stage()
    if stage is None:
        return {}
    reached = Lead.reached_field(stage)
    return {"stage": stage, "version": 1, "entered_at": created_at,
            "stage_changed_at": created_at, **({reached: created_at} if reached else {})}


@transaction.atomic
def lead_create(*, email, created_at=None, user=None, **fields):
    email = email.strip().lower()
    created_at = created_at or timezone.now()
    if fields.get("account") is None:
        fields.update(_match_accounts([(email, fields.get("company", ""))]).get(
            email, NO_MATCH))
    lead = Lead.objects.create(email=email, created_at=created_at,
                               **_lead_entry_fields(created_at), **fields)
    _enter_leads([lead], user)
    signals.leads_changed.send(sender=Lead, account_ids=[lead.account_id])
    return lead


@transaction.atomic
def lead_update(*, lead, **fields):
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
    email = fields.get("email", lead.email)
    company = fields.get("company", lead.company)
    if "account" in fields:
        # Given by hand: no match to record.
        if fields["account"] != lead.account:
            fields.update(account_match="", account_match_score=None)
    elif email != lead.email or (company != lead.company and lead.account_match != "domain"):
        fields.update(_match_accounts([(email, company)]).get(email, NO_MATCH))
    before = lead.account_id
    for name, value in fields.items():
        setattr(lead, name, value)
    lead.save()
    signals.leads_changed.send(sender=Lead, account_ids=[before, lead.account_id])
    return lead


def lead_bulk_upsert(*, rows, user=None):
    """Upsert leads by e-mail. New leads are matched to an account by e-mail domain (unless
    given) and enter the funnel. Returns (created, updated, unchanged, errors)."""
    def key(data):
        return data["email"]

    unique, errors = ingest.dedupe(rows, key=key, message=lambda first: {"email": [
        i18n.deferred(gettext_noop("Duplicate e-mail in this batch (first at %(position)s)."),
                      position=first)]})

    existing = {lead.email: lead for lead in Lead.objects.filter(
        email__in=[key(d) for _, d in unique])}
    accounts_before = [lead.account_id for lead in existing.values()]
    matched = _match_accounts([(d["email"], d.get("company", "")) for _, d in unique
                               if d["email"] not in existing and not d.get("account")])
    now = timezone.now()

    def build(data):
        created_at = data.get("created_at") or now
        fields = {f: data[f] for f in LEAD_FIELDS if f in data}
        if not fields.get("account"):
            fields.update(matched.get(data["email"], NO_MATCH))
        return Lead(email=data["email"], created_at=created_at,
                    **_lead_entry_fields(created_at), **fields)

    upsert = ingest.Upsert().match(unique, existing=existing, key=key, fields=LEAD_FIELDS,
                                   build=build, now=now)
    with transaction.atomic():
        upsert.write(Lead)
        _enter_leads(upsert.created, user)
        # Every lead of the batch, as it was and as it is (an unchanged one costs a refresh
        # of its account's deal touches, no more).
        signals.leads_changed.send(sender=Lead, account_ids=[
            *accounts_before, *(lead.account_id for lead in existing.values()),
            *(getattr(d.get("account"), "pk", d.get("account")) for _, d in unique),
            *(lead.account_id for lead in upsert.created)])
    return len(upsert.created), upsert.updated, upsert.unchanged, errors
