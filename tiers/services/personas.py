"""Personas and buying committees: a contact's persona from its title (or set by hand), its
fit to the ICP personas, reclassifying every contact when the rules change, and a tier's
required committee. The accounts' committee fields follow at once (`refresh_committees`)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from abmcrm.core import jobs, queueing
from abmcrm.core.conf import settings as core_conf
from abmcrm.core.exceptions import InvalidInput

from .. import scoring, sql
from ..models import CommitteeRole, Contact, PersonaReclassification, RecomputeJob
from ..personas import Classifier, persona_weight
from .recompute import accounts_recompute_queue

PERSONA_FIELDS = ("job_function", "seniority")
# The one row of PersonaReclassification.
PENDING_ROW = 1
MAX_COMMITTEE_SEATS = 20


def persona_fields(*, title, data, current=None, classifier, personas):
    """The persona fields a contact gets from `data` (what was sent) and its `title`:
    a function or seniority sent sets the persona by hand (overridden, the other one from the
    title if not sent); `persona_overridden: false` hands it back to the rules; otherwise the
    rules decide unless it was set by hand before (`current`, the stored contact)."""
    sent = {name: data[name] for name in PERSONA_FIELDS if data.get(name)}
    overridden = data.get("persona_overridden")
    if overridden is None:
        overridden = bool(sent) or bool(current and current.persona_overridden)
    derived = dict(zip(PERSONA_FIELDS, classifier.classify(title), strict=True))
    if overridden:
        kept = {name: getattr(current, name) for name in PERSONA_FIELDS} if current else {}
        fields = {**derived, **kept, **sent}
    else:
        fields = derived
    fields["persona_overridden"] = bool(overridden)
    fields["contact_fit"] = persona_weight(personas, fields["job_function"],
                                           fields["seniority"])
    return fields


@transaction.atomic
def contact_create(*, account, **fields):
    persona = persona_fields(title=fields.get("title", ""), data=fields,
                             classifier=Classifier.from_db(),
                             personas=scoring.active_personas())
    fields = {name: value for name, value in fields.items()
              if name not in (*PERSONA_FIELDS, "persona_overridden")}
    contact = Contact.objects.create(account=account, **fields, **persona)
    accounts_committee_refresh(account_ids=[account.pk])
    return contact


@transaction.atomic
def contact_update(*, contact, **fields):
    old_account, old_persona = contact.account_id, persona_of(contact)
    persona = persona_fields(title=fields.get("title", contact.title), data=fields,
                             current=contact, classifier=Classifier.from_db(),
                             personas=scoring.active_personas())
    for name, value in {**fields, **persona}.items():
        setattr(contact, name, value)
    contact.save()
    accounts_committee_refresh(account_ids={old_account, contact.account_id})
    if persona_of(contact) != old_persona:
        accounts_persona_rescore(account_ids={old_account, contact.account_id})
    return contact


def persona_of(contact):
    return tuple(getattr(contact, name) for name in PERSONA_FIELDS)


def accounts_persona_rescore(*, account_ids):
    """Contacts of these accounts changed persona: when engagement is weighted by persona,
    their accounts' engagement (and so their scores and tiers) changed too, so rescore them
    in the worker once committed (the incremental recompute, which the sweeper queues again
    if the broker is down). Without persona multipliers nothing changes: nothing queued.
    Returns the recompute job, or None."""
    if not scoring.Multipliers.current().personas:
        return None
    return accounts_recompute_queue(account_ids=[pk for pk in account_ids if pk is not None])


def accounts_committee_refresh(*, account_ids):
    """Recompute the committee fields of these accounts now (their contacts changed)."""
    ids = sorted({int(pk) for pk in account_ids if pk is not None})
    return scoring.refresh_committees(ids) if ids else 0


def contacts_reclassify():
    """Give every contact not set by hand the persona its title has by the current rules, in
    set-based UPDATEs (one row per distinct title), then refresh the contact fit and the
    committees of the accounts whose contacts changed, and clear the pending reclassification
    unless the rules changed again meanwhile. Returns how many accounts."""
    pending = PersonaReclassification.objects.filter(pk=PENDING_ROW).values_list(
        "requested_at", flat=True).first()
    classifier = Classifier.from_db()
    titles = Contact.objects.filter(persona_overridden=False).order_by().values_list(
        "title", flat=True).distinct()
    rows = [(title, *classifier.classify(title)) for title in titles.iterator()]
    with transaction.atomic():
        account_ids = sql.write_personas(rows)
        accounts_committee_refresh(account_ids=account_ids)
        if account_ids and scoring.Multipliers.current().personas:
            # Their engagement is weighted by persona: rescore them.
            accounts_recompute_queue(account_ids=account_ids)
        if pending is not None:
            # Compare-and-set: a change made while this ran keeps it pending (its own task,
            # or the sweeper, runs it again with the new rules).
            PersonaReclassification.objects.filter(
                pk=PENDING_ROW, requested_at=pending).update(requested_at=None, queued_at=None)
    return len(account_ids)


def persona_rules_changed():
    """The persona rules changed: mark a reclassification pending in the caller's
    transaction, and reclassify every contact in the worker once committed. If the broker
    cannot be reached, it stays pending and `manage.py redrive` queues it
    (`personas_redrive`)."""
    now = timezone.now()
    PersonaReclassification.objects.bulk_create(
        [PersonaReclassification(pk=PENDING_ROW, requested_at=now, queued_at=None)],
        update_conflicts=True, unique_fields=["id"], update_fields=["requested_at", "queued_at"])
    transaction.on_commit(personas_reclassify_dispatch)


def personas_reclassify_dispatch():
    """Queue the reclassification task now and note when; never raises for a broker that is
    down (the reclassification stays pending for the sweeper). Returns whether queued."""
    queued = queueing.publish("tiers.tasks.reclassify_personas")
    if queued:
        PersonaReclassification.objects.filter(
            pk=PENDING_ROW, requested_at__isnull=False).update(queued_at=timezone.now())
    return queued


def personas_redrive(*, now=None):
    """The sweeper (`manage.py redrive`): queue the pending reclassification again if its
    task was never queued, or was queued more than ABMCRM_JOB_STUCK_AFTER seconds ago and
    has not cleared it. Returns {"queued", "not_queued"}."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=core_conf.ABMCRM_JOB_STUCK_AFTER)
    due = PersonaReclassification.objects.filter(
        Q(queued_at__isnull=True) | Q(queued_at__lt=stuck), pk=PENDING_ROW,
        requested_at__isnull=False).exists()
    if not due:
        return {"queued": 0, "not_queued": 0}
    queued = personas_reclassify_dispatch()
    return {"queued": int(queued), "not_queued": int(not queued)}


def accounts_rescore_all():
    """Something every account's scores depend on changed (the ICP personas, an engagement
    multiplier): a recompute of all accounts, queued once committed (the sweeper queues it
    again if the broker is down)."""
    job = RecomputeJob.objects.create(trigger=RecomputeJob.Trigger.CHANGE)
    jobs.job_enqueue(job=job)
    return job


def tier_committee(*, tier):
    """{buying role: count} of a tier's required committee, in the order of the roles."""
    counts = dict(tier.committee.values_list("buying_role", "count"))
    return {role: counts[role] for role in Contact.BuyingRole.values if role in counts}


def tier_committee_set(*, tier, roles):
    """Replace a tier's required committee with `roles` ({buying role: count 0–20}) and
    rescore the tier's accounts. Raises InvalidInput naming each bad role or count."""
    errors = {}
    if not isinstance(roles, dict):
        raise InvalidInput("Expected an object of buying role → count.", detail={"roles": [
            'Expected an object such as {"decision_maker": 1, "champion": 1}.']})
    clean = {}
    for role, count in roles.items():
        if role not in Contact.BuyingRole.values:
            errors[role] = [f"Unknown buying role “{role}”; expected one of: "
                            f"{', '.join(Contact.BuyingRole.values)}."]
        elif isinstance(count, bool) or not isinstance(count, int) or not (
                0 <= count <= MAX_COMMITTEE_SEATS):
            errors[role] = [f"Expected a whole number from 0 to {MAX_COMMITTEE_SEATS}."]
        else:
            clean[role] = count
    if errors:
        raise InvalidInput("Some roles of the committee are not valid.",
                           detail={"roles": errors})
    with transaction.atomic():
        CommitteeRole.objects.filter(tier=tier).exclude(buying_role__in=list(clean)).delete()
        for role, count in clean.items():
            CommitteeRole.objects.update_or_create(tier=tier, buying_role=role,
                                                   defaults={"count": count})
        tier_committee_changed(tier=tier)
    return tier_committee(tier=tier)


def tier_committee_changed(*, tier):
    """A tier's committee changed: redo the committee of its accounts (set-based, a few
    statements per 5,000 accounts). Returns how many changed."""
    return accounts_committee_refresh(
        account_ids=tier.accounts.values_list("pk", flat=True))
