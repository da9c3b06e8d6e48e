"""The marketers' queue actions: claim, complete, fail and retry an approved order. Each is
one move of `transitions.order_transition`; a move of an order whose provider call is under
way is refused (`refuse_while_sending`)."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from abmcrm.core.exceptions import Conflict, InvalidInput

from ..models import ProgramOrder
from ..transitions import order_transition, refuse_while_sending

Status = ProgramOrder.Status


def order_claim(*, order, by):
    """Assign an approved order to `by` and start it (approved → in progress)."""
    if order.status != Status.APPROVED:
        status = str(Status(order.status).label).lower()
        if order.assignee_id:
            status = _("%(status)s by %(person)s") % {"status": status,
                                                       "person": order.assignee}
        raise Conflict(
            _("Order #%(id)s is %(status)s; only an approved order can be claimed.")
            % {"id": order.pk, "status": status}, code="not_claimable",
        )
    with transaction.atomic():
        refuse_while_sending(order, pgettext("order move", "claimed"))
        return order_transition(order=order, to=Status.IN_PROGRESS, by=by,
                                note="Claimed.",  # the event names who; notes are stored in English
                                fields={"assignee": by})


def order_complete(*, order, by, external_reference="", note=""):
    """Mark an approved or in-progress order fulfilled (its cost becomes spent)."""
    external_reference = (external_reference or "").strip()
    if len(external_reference) > 200:
        raise InvalidInput(_("The external reference is too long (200 characters at most)."),
                           detail={"external_reference": [
                               _("Ensure this field has no more than 200 characters.")]})
    fields = {"external_reference": external_reference} if external_reference else {}
    if order.assignee_id is None:
        fields["assignee"] = by
    with transaction.atomic():
        refuse_while_sending(order, pgettext("order move", "marked fulfilled"))
        return order_transition(order=order, to=Status.FULFILLED, by=by, note=note.strip(),
                                fields=fields)


def order_fail(*, order, by, reason):
    """Mark an approved or in-progress order failed (its cost is released)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the order failed."),
                           detail={"reason": [_("A reason is required.")]})
    with transaction.atomic():
        refuse_while_sending(order, pgettext("order move", "marked failed"))
        return order_transition(order=order, to=Status.FAILED, by=by, note=reason,
                                fields={"reason": reason})


def order_retry(*, order, by, note=""):
    """Put a failed order back to approved (re-committing its cost). A provider order is
    sent again, with a new idempotency key: the provider refused or lost the last one."""
    if order.status != Status.FAILED:
        raise Conflict(_("Order #%(id)s is %(status)s; only a failed order can be retried.")
                       % {"id": order.pk, "status": str(Status(order.status).label).lower()},
                       code="invalid_transition")
    return order_transition(order=order, to=Status.APPROVED, by=by,
                            note=note.strip() or "Retried.", fields={"reason": ""})

