"""The marketers' queue actions: claim, complete, fail and retry an approved order. Each is
one move of `transitions.order_transition`; a move of an order whose provider call is under
way is refused (`refuse_while_sending`)."""

from django.db import transaction

from abmcrm.core.exceptions import Conflict, InvalidInput

from ..models import ProgramOrder
from ..transitions import order_transition, refuse_while_sending

Status = ProgramOrder.Status


def order_claim(*, order, by):
    """Assign an approved order to `by` and start it (approved → in progress)."""
    if order.status != Status.APPROVED:
        who = f" by {order.assignee}" if order.assignee_id else ""
        raise Conflict(
            f"Order #{order.pk} is {Status(order.status).label.lower()}{who}; only an "
            f"approved order can be claimed.", code="not_claimable",
        )
    with transaction.atomic():
        refuse_while_sending(order, "claimed")
        return order_transition(order=order, to=Status.IN_PROGRESS, by=by,
                                note="Claimed.",  # the event names who
                                fields={"assignee": by})


def order_complete(*, order, by, external_reference="", note=""):
    """Mark an approved or in-progress order fulfilled (its cost becomes spent)."""
    external_reference = (external_reference or "").strip()
    if len(external_reference) > 200:
        raise InvalidInput("The external reference is too long (200 characters at most).",
                           detail={"external_reference": [
                               "Ensure this field has no more than 200 characters."]})
    fields = {"external_reference": external_reference} if external_reference else {}
    if order.assignee_id is None:
        fields["assignee"] = by
    with transaction.atomic():
        refuse_while_sending(order, "marked fulfilled")
        return order_transition(order=order, to=Status.FULFILLED, by=by, note=note.strip(),
                                fields=fields)


def order_fail(*, order, by, reason):
    """Mark an approved or in-progress order failed (its cost is released)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the order failed.",
                           detail={"reason": ["A reason is required."]})
    with transaction.atomic():
        refuse_while_sending(order, "marked failed")
        return order_transition(order=order, to=Status.FAILED, by=by, note=reason,
                                fields={"reason": reason})


def order_retry(*, order, by, note=""):
    """Put a failed order back to approved (re-committing its cost). A provider order is
    sent again, with a new idempotency key: the provider refused or lost the last one."""
    if order.status != Status.FAILED:
        raise Conflict(f"Order #{order.pk} is {Status(order.status).label.lower()}; only a "
                       f"failed order can be retried.", code="invalid_transition")
    return order_transition(order=order, to=Status.APPROVED, by=by,
                            note=note.strip() or "Retried.", fields={"reason": ""})
