"""Deals written: one (`opportunity_create`, `opportunity_update`) or up to 10,000 at once
(`opportunity_bulk_upsert`, by `external_id`), all through `write`, so that every path
applies the same rules and records the same history.

A row is planned against the deal as stored (its stage, version, committee) and refused as a
whole when anything in it is wrong: nothing of a refused row is written. The planned rows are
then written in one transaction: new deals in one insert, changed deals by one
compare-and-set on their version (`sql.writes`), their stage changes appended, their buying
committees replaced, and the accounts' funnels moved (`follow`). A resend of the same rows
finds nothing to change: it writes nothing and appends no history."""

from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abmcrm.core.conf import settings as core_settings
from abmcrm.core.exceptions import Conflict, InvalidInput

from .. import events, selectors, signals
from ..models import Opportunity, OpportunityContact, OpportunityStageChange
from ..sql import writes as writes_sql
from .deal_touches import deal_touches_refresh
from .follow import accounts_follow_deals
from .moves import CONCURRENT_CHANGE, deal_label, move_errors, moved_fields

PLAIN_FIELDS = ("account", "name", "external_id", "owner", "product", "amount", "currency",
                "opened_at", "close_date", "lost_reason", "campaign", "channel", "lead")


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # [(position, {field: [messages]})]
    deals: dict = field(default_factory=dict)  # position → the deal written or found
    conflicts: set = field(default_factory=set)  # positions lost to a concurrent change


@dataclass
class _Plan:
    position: int
    deal: Opportunity
    new: bool
    old_version: int = 0
    move: tuple | None = None  # (from stage, to stage, at, reopen)
    committee: list | None = None  # [(contact, role)] to write; None: unchanged


def _raw(value):
    return value.pk if hasattr(value, "_meta") else value


def _default_name(account, product):
    return f"{account.name} – {product}" if product else account.name


class _Refused(Exception):
    def __init__(self, errors):
        self.errors = errors


def _plan_new(position, data, *, first_open, now):
    stage = data.get("stage") or first_open
    if stage is None:
        raise _Refused({"stage": [_("There is no open stage to start the deal at; give "
                                    "its stage.")]})
    opened_at = data.get("opened_at") or now
    closed_at = data.get("closed_at")
    if not stage.is_closed and closed_at:
        raise _Refused({"closed_at": [_("Only a won or lost deal has a closed_at; “%(stage)s” "
                                        "is open.") % {"stage": stage.slug}]})
    if stage.is_closed and closed_at is None:
        closed_at = max(now, opened_at)
    if closed_at is not None and closed_at < opened_at:
        raise _Refused({"closed_at": [_("closed_at (%(closed)s) is before opened_at "
                                        "(%(opened)s).") % {"closed": closed_at.isoformat(),
                                                            "opened": opened_at.isoformat()}]})
    amount = data.get("amount")
    if stage.is_won and amount is None:
        raise _Refused({"amount": [_("A won deal needs an amount (its won revenue).")]})
    account = data["account"]
    deal = Opportunity(
        account=account, name=data.get("name") or _default_name(account, data.get("product")),
        external_id=data.get("external_id"), owner=data.get("owner"),
        product=data.get("product", ""), amount=amount,
        currency=data.get("currency") or core_settings.ABMCRM_CURRENCY, stage=stage,
        status=stage.status, opened_at=opened_at, close_date=data.get("close_date"),
        closed_at=closed_at, lost_reason=data.get("lost_reason", ""),
        campaign=data.get("campaign"), channel=data.get("channel", ""), lead=data.get("lead"),
        stage_changed_at=closed_at or opened_at, version=1, created_at=now, updated_at=now)
    return _Plan(position, deal, new=True, move=(None, stage, deal.stage_changed_at, False),
                 committee=data.get("contacts") or [])


def _plan_update(position, data, deal, *, stages, now):
    """Set the row's values on the stored deal; returns its plan, or None if it is already
    as given."""
    stored_account_id, changed = deal.account_id, False
    for name in PLAIN_FIELDS:
        if name not in data or (name == "name" and not data[name]):
            continue
        field_ = deal._meta.get_field(name)
        if getattr(deal, field_.attname) != _raw(data[name]):
            setattr(deal, name, data[name])
            changed = True
    plan = _Plan(position, deal, new=False, old_version=deal.version)
    stage = data.get("stage")
    if stage is not None and stage.pk != deal.stage_id:
        current = stages[deal.stage_id]
        closed_at = data.get("closed_at")
        at = closed_at if stage.is_closed and closed_at else now
        errors = move_errors(label=deal_label(deal), current=current, to=stage, at=at,
                             opened_at=deal.opened_at, changed_at=deal.stage_changed_at,
                             amount=deal.amount, reopen=data.get("reopen", False),
                             at_field="closed_at" if at is closed_at else "stage")
        if errors:
            raise _Refused(errors)
        for name, value in moved_fields(to=stage, at=at, amount=deal.amount,
                                        lost_reason=data.get("lost_reason"),
                                        current_lost_reason=deal.lost_reason).items():
            setattr(deal, name, value)
        deal.stage = stage
        plan.move = (current, stage, at, bool(data.get("reopen")))
        changed = True
    elif "closed_at" in data and data["closed_at"] != deal.closed_at:
        if deal.status == Opportunity.Status.OPEN:
            raise _Refused({"closed_at": [_("%(deal)s is open: only a won or lost deal has a "
                                            "closed_at.") % {"deal": deal_label(deal)}]})
        if data["closed_at"] is None:
            raise _Refused({"closed_at": [_("A won or lost deal keeps its closed_at; reopen "
                                            "it to move it back to an open stage.")]})
        deal.closed_at = data["closed_at"]  # the CRM corrected the close date
        changed = True
    if deal.closed_at is not None and deal.closed_at < deal.opened_at:
        raise _Refused({"closed_at": [_("closed_at (%(closed)s) is before opened_at "
                                        "(%(opened)s).")
                                      % {"closed": deal.closed_at.isoformat(),
                                         "opened": deal.opened_at.isoformat()}]})
    if deal.status == Opportunity.Status.WON and deal.amount is None:
        raise _Refused({"amount": [_("A won deal needs an amount (its won revenue).")]})
    if deal.lead_id and ("lead" in data or deal.account_id != stored_account_id):
        lead = data.get("lead") or deal.lead
        if lead.account_id not in (None, deal.account_id):
            raise _Refused({"lead": [_("Lead %(lead)s belongs to another account.")
                                     % {"lead": lead.email}]})
    stored = sorted((m.contact_id, m.role) for m in deal.committee.all())
    if "contacts" in data:
        given = sorted((contact.pk, role) for contact, role in data["contacts"])
        if given != stored:
            plan.committee = data["contacts"]
            changed = True
    elif stored and deal.account_id != stored_account_id:
        raise _Refused({"contacts": [_("The deal's buying committee is made of its former "
                                       "account's contacts: send the new account's "
                                       "committee with the new account.")]})
    if not changed:
        return None
    deal.version = plan.old_version + 1
    deal.updated_at = now
    return plan


def write(rows, *, by, now=None, bulk=False):
    """Write validated rows: [(position, data, stored deal or None)]. Returns a WriteResult;
    a row refused or lost to a concurrent change writes nothing of itself. `bulk`: a load
    (the bulk API, an import), whose new deals' touch rows a task computes after the commit
    (`services.deal_touches`); a single write computes them in its transaction."""
    now = now or timezone.now()
    result = WriteResult()
    # What the deal touches depend on, as stored (planning changes the deals in place).
    touched_before = {deal.pk: _touch_fields(deal) for _, _, deal in rows if deal is not None}
    all_stages = selectors.stages()
    first_open = selectors.first_open_stage(all_stages)
    stages = {stage.pk: stage for stage in all_stages}
    plans = []
    for position, data, deal in rows:
        try:
            if deal is None:
                plan = _plan_new(position, data, first_open=first_open, now=now)
            else:
                plan = _plan_update(position, data, deal, stages=stages, now=now)
        except _Refused as refused:
            result.errors.append((position, refused.errors))
            continue
        if plan is None:
            result.unchanged += 1
            result.deals[position] = deal
        else:
            plans.append(plan)
    if not plans:
        return result
    by = by if getattr(by, "pk", None) else None
    new = [plan for plan in plans if plan.new]
    changed = [plan for plan in plans if not plan.new]
    with transaction.atomic():
        _insert(new, by=by, now=now)
        written = set()
        if changed:
            written = writes_sql.cas_update([
                [plan.deal.pk, plan.old_version,
                 *(_raw(getattr(plan.deal, name)) for name in writes_sql.FIELDS)]
                for plan in changed])
        done = new + [plan for plan in changed if plan.deal.pk in written]
        lost = [plan for plan in changed if plan.deal.pk not in written]
        moves = [plan for plan in done if plan.move]
        # On PostgreSQL the new deals' first change was written with them.
        recorded_with_insert = connection.vendor == "postgresql"
        OpportunityStageChange.objects.bulk_create([
            OpportunityStageChange(opportunity=plan.deal, from_stage=plan.move[0],
                                   to_stage=plan.move[1], at=plan.move[2],
                                   amount=plan.deal.amount, is_reopen=plan.move[3], by=by,
                                   created_at=now)
            for plan in moves if not (plan.new and recorded_with_insert)], batch_size=2000)
        replaced = [plan for plan in done if plan.committee is not None]
        stale = [plan.deal.pk for plan in replaced if not plan.new]
        if stale:
            OpportunityContact.objects.filter(opportunity_id__in=stale).delete()
        OpportunityContact.objects.bulk_create([
            OpportunityContact(opportunity=plan.deal, contact=contact, role=role)
            for plan in replaced for contact, role in plan.committee], batch_size=2000)
        # Before the funnel moves they cause, so they come first in the outbox.
        events.opportunities_created_emit([plan.deal for plan in new])
        events.stage_changes_emit([(plan.deal, *plan.move[:3]) for plan in moves
                                   if not plan.new])
        accounts_follow_deals(
            opened=[_event(plan.deal, plan.deal.opened_at) for plan in new],
            won=[_event(plan.deal, plan.move[2]) for plan in moves if plan.move[1].is_won],
            by=by)
        _deal_touches_refresh(new, [plan for plan in changed if plan.deal.pk in written],
                              touched_before, defer=bulk)
        if moves:
            signals.opportunities_moved.send(
                sender=Opportunity, by=by,
                changes=[(plan.deal.pk, plan.move[0].pk if plan.move[0] else None,
                          plan.move[1].pk, plan.move[2]) for plan in moves])
    result.created = len(new)
    result.updated = len(done) - len(new)
    for plan in done:
        # A committee read before the write is stale now.
        getattr(plan.deal, "_prefetched_objects_cache", {}).pop("committee", None)
        result.deals[plan.position] = plan.deal
    for plan in lost:
        result.conflicts.add(plan.position)
        result.errors.append((plan.position, {"non_field_errors": [str(CONCURRENT_CHANGE)]}))
    result.errors.sort(key=lambda error: error[0])
    return result


def _touch_fields(deal):
    return (deal.account_id, deal.opened_at, deal.campaign_id)


def _deal_touches_refresh(new, changed, before, *, defer):
    """The per-deal touch table after a write: a new deal gets its rows; one with a
    campaign is also a touch of its account's deals opened within the lookback after it
    (those are redone too), and a deal whose account, opening or campaign changed redoes
    both accounts."""
    accounts = set()
    for plan in changed:
        old = before.get(plan.deal.pk)
        if old is not None and old != _touch_fields(plan.deal):
            accounts |= {old[0], plan.deal.account_id}
    deal_touches_refresh(
        account_ids=accounts,
        deals=[(plan.deal.pk, plan.deal.account_id, plan.deal.opened_at) for plan in new
               if not plan.deal.campaign_id],
        new_touches=[(plan.deal.pk, plan.deal.account_id, plan.deal.opened_at)
                     for plan in new if plan.deal.campaign_id], defer=defer)


def _insert(new, *, by, now):
    """Insert the new deals (and, on PostgreSQL, their first stage change with them)."""
    if not new:
        return
    if connection.vendor != "postgresql":
        Opportunity.objects.bulk_create([plan.deal for plan in new], batch_size=2000)
        return
    ids = writes_sql.insert_recorded(
        [[_raw(getattr(plan.deal, name)) for name in writes_sql.INSERT_FIELDS]
         for plan in new], by_id=by.pk if by else None, now=now)
    for plan, pk in zip(new, ids, strict=True):
        plan.deal.pk = pk
        plan.deal._state.adding = False
        plan.deal._state.db = "default"


def _event(deal, at):
    return (deal.account_id, at, deal.amount, deal.campaign, deal.channel)


def _single(result):
    if result.errors:
        position, errors = result.errors[0]
        if position in result.conflicts:
            raise Conflict(str(CONCURRENT_CHANGE), code="concurrent_change")
        raise InvalidInput(_("The deal was refused."), detail=errors)
    return result.deals[0]


def opportunity_create(*, by, **data):
    """Create one deal (validated data of `OpportunityRowSerializer`)."""
    external_id = data.get("external_id")
    if external_id and Opportunity.objects.filter(external_id=external_id).exists():
        raise InvalidInput(_("The deal was refused."), detail={"external_id": [
            _("A deal with external_id “%(id)s” exists already: change it, or upsert through "
              "…/bulk/.") % {"id": external_id}]})
    try:
        return _single(write([(0, data, None)], by=by))
    except IntegrityError as exc:  # the same external_id created meanwhile
        raise Conflict(_("A deal with this external_id was created meanwhile."),
                       code="duplicate") from exc


def opportunity_update(*, opportunity, by, **data):
    """Change one deal; a new stage goes through the move rules (and its history)."""
    external_id = data.get("external_id")
    if external_id and Opportunity.objects.filter(external_id=external_id).exclude(
            pk=opportunity.pk).exists():
        raise InvalidInput(_("The deal was refused."), detail={"external_id": [
            _("Another deal has external_id “%(id)s”.") % {"id": external_id}]})
    return _single(write([(0, data, opportunity)], by=by))


def opportunity_check(*, opportunity, **data):
    """The refusals an update would meet ({field: [messages]}), or None; writes nothing (the
    admin's form shows them on its fields)."""
    stored = Opportunity.objects.prefetch_related("committee").get(pk=opportunity.pk)
    stages = {stage.pk: stage for stage in selectors.stages()}
    try:
        _plan_update(0, data, stored, stages=stages, now=timezone.now())
    except _Refused as refused:
        return refused.errors
    return None


def opportunity_delete(*, opportunity):
    """Admins delete a deal entered by mistake; its history and committee go with it. The
    account's funnel keeps the transitions the deal caused (they happened)."""
    with transaction.atomic():
        opportunity.delete()
        if opportunity.campaign_id:  # it was a touch of its account's other deals
            deal_touches_refresh(account_ids=[opportunity.account_id])


def opportunity_bulk_upsert(*, rows, by):
    """Upsert validated bulk rows ([(position, data)]) by external_id. Returns (created,
    updated, unchanged, errors)."""
    existing = selectors.opportunities_by_external_id({data["external_id"] for _, data in rows})
    result = write([(position, data, existing.get(data["external_id"]))
                    for position, data in rows], by=by, bulk=True)
    return result.created, result.updated, result.unchanged, result.errors
