"""The deals' state machine: a stage change is checked by `move_errors` (the same rules for
`POST …/move/`, an update and a bulk upsert), applied with a compare-and-set on the deal's
`version` and recorded as an `OpportunityStageChange` in the same transaction.

Any stage may follow any open one (CRMs let deals skip and go back); leaving won or lost
takes an explicit reopen, and history is appended in order: a move dated before the deal's
last change is refused."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core.exceptions import Conflict, InvalidInput

from .. import events, signals
from ..models import Opportunity, OpportunityStageChange
from .follow import accounts_follow_deals

CONCURRENT_CHANGE = gettext_lazy(
    "The deal changed while this request was processed (someone else moved or edited it "
    "first); nothing was recorded. Read it again and retry.")


def move_errors(*, label, current, to, at, opened_at, changed_at, amount, reopen,
                at_field="at"):
    """The refusals of moving a deal from stage `current` to `to` at `at`. Returns
    {field: [message]} or None. `at_field` names the field the time came from."""
    if to == current:
        return {"stage": [_("%(deal)s is already at “%(stage)s”.")
                          % {"deal": label, "stage": to.slug}]}
    if current.is_closed and not reopen:
        return {"stage": [_("%(deal)s is closed (“%(stage)s”). To move it again, send "
                            "\"reopen\": true.") % {"deal": label, "stage": current.slug}]}
    if reopen and not current.is_closed:
        return {"reopen": [_("Only a won or lost deal can be reopened; %(deal)s is at "
                             "“%(stage)s”.") % {"deal": label, "stage": current.slug}]}
    if reopen and to.is_closed:
        return {"reopen": [_("A reopen moves a won or lost deal back to an open stage, not "
                             "to “%(stage)s”.") % {"stage": to.slug}]}
    if to.is_won and amount is None:
        return {"amount": [_("A won deal needs an amount (its won revenue).")]}
    if at < opened_at:
        return {at_field: [_("%(at)s is before %(deal)s opened (%(opened)s).")
                           % {"at": at.isoformat(), "deal": label,
                              "opened": opened_at.isoformat()}]}
    if changed_at is not None and at < changed_at:
        return {at_field: [_("%(at)s is before %(deal)s's last stage change (%(last)s). "
                             "Out-of-order history is refused: send each deal's moves "
                             "oldest first.")
                           % {"at": at.isoformat(), "deal": label,
                              "last": changed_at.isoformat()}]}
    return None


def deal_label(deal):
    return _("Deal “%(name)s”") % {"name": deal.external_id or deal.name or deal.pk}


def moved_fields(*, to, at, amount, lost_reason, current_lost_reason):
    """The columns a move sets (besides the stage and the version)."""
    fields = {"status": to.status, "stage_changed_at": at, "amount": amount,
              "closed_at": at if to.is_closed else None}
    if to.is_lost:
        fields["lost_reason"] = current_lost_reason if lost_reason is None else lost_reason
    elif not to.is_closed:
        fields["lost_reason"] = ""  # reopened: the old reason no longer holds
    return fields


def opportunity_move(*, opportunity, stage, by, at=None, amount=None, lost_reason=None,
                     reopen=False):
    """Move one deal to `stage`. Raises InvalidInput (400) with field errors when refused,
    Conflict (409) when the deal changed meanwhile. Returns the deal as moved."""
    at = at or timezone.now()
    current = opportunity.stage
    amount = opportunity.amount if amount is None else amount
    errors = move_errors(label=deal_label(opportunity), current=current, to=stage, at=at,
                         opened_at=opportunity.opened_at,
                         changed_at=opportunity.stage_changed_at, amount=amount,
                         reopen=reopen)
    if errors is None and lost_reason and not stage.is_lost:
        errors = {"lost_reason": [_("Only a move to a lost stage takes a lost reason.")]}
    if errors:
        raise InvalidInput(_("The move was refused."), detail=errors)
    fields = moved_fields(to=stage, at=at, amount=amount, lost_reason=lost_reason,
                          current_lost_reason=opportunity.lost_reason)
    with transaction.atomic():
        updated = Opportunity.objects.filter(
            pk=opportunity.pk, version=opportunity.version, stage_id=current.pk,
        ).update(stage=stage, version=F("version") + 1, updated_at=timezone.now(), **fields)
        if not updated:
            raise Conflict(str(CONCURRENT_CHANGE), code="concurrent_change")
        OpportunityStageChange.objects.create(
            opportunity=opportunity, from_stage=current, to_stage=stage, at=at, amount=amount,
            is_reopen=reopen, by=by if getattr(by, "pk", None) else None)
        opportunity.stage, opportunity.status = stage, fields["status"]
        opportunity.amount = amount
        events.stage_changes_emit([(opportunity, current, stage, at)])
        if stage.is_won:
            accounts_follow_deals(won=[(opportunity.account_id, at, amount,
                                        opportunity.campaign, opportunity.channel)],
                                  by=by if getattr(by, "pk", None) else None)
        signals.opportunities_moved.send(
            sender=Opportunity, changes=[(opportunity.pk, current.pk, stage.pk, at)], by=by)
    opportunity.refresh_from_db()
    return opportunity
