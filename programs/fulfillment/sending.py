"""Sending orders through providers: the send task's body. Nothing is sent twice: each attempt
is claimed with a compare-and-set (`sql.fulfillment_claim`), and an attempt that may have
reached the provider before (a retry, a redelivery, a worker killed mid-call) first asks the
provider by idempotency key and sends only if it never got it; the key also makes a
duplicate send harmless at the provider. The order moves once, by the provider's answer,
through `transitions.order_transition`."""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from abmcrm.core.db.compiled import CompiledGet
from abmcrm.core.exceptions import Conflict

from .. import notifications, sql
from ..models import Fulfillment, ProgramOrder
from ..transitions import order_transition
from .providers import PermanentError, TransientError, get_provider

logger = logging.getLogger(__name__)

Status = ProgramOrder.Status
State = Fulfillment.State
ACTIVE = (Status.APPROVED, Status.IN_PROGRESS)


# The fulfillment with what sending and the rep's e-mail need (a gift's contact is loaded by
# its provider), or None. Every send reads it: compiled once per process (abmcrm.core.db.compiled).
_load = CompiledGet(lambda: Fulfillment.objects.select_related(
    "order__item", "order__account", "order__requested_by"))


def fulfillment_process(*, fulfillment_id, reconcile=False):
    """The send task's body. Raises TransientError for the task to retry; everything else
    ends here. Safe to run twice, concurrently or after a crash. A gift already sent is left
    to its webhook, unless `reconcile` asks the provider where it is."""
    fulfillment = _load(fulfillment_id)
    if fulfillment is None or fulfillment.state in Fulfillment.DONE:
        return None
    order = fulfillment.order
    if order.status not in ACTIVE:
        return None  # cancelled, or fulfilled / failed by a marketer meanwhile
    try:
        provider = get_provider(fulfillment.provider)
    except PermanentError as exc:
        return finish_failed(fulfillment, exc.message)

    if fulfillment.state == State.SENT:
        if not reconcile:
            return None
        # Sent long ago and no webhook yet: ask the provider where it is.
        result = provider.lookup(fulfillment)
        if result is None:
            return finish_failed(fulfillment, f"{provider} has no record of this order.")
        if result.status == "accepted":
            Fulfillment.objects.filter(pk=fulfillment.pk).update(updated_at=timezone.now())
            return fulfillment.state
        return _apply_result(fulfillment, result, provider)

    maybe_sent_before = fulfillment.state == State.SENDING or fulfillment.attempts > 0
    if not sql.fulfillment_claim(fulfillment, active_statuses=ACTIVE):
        return None  # another delivery of the task has it, or the order moved meanwhile
    fulfillment.state, fulfillment.attempts = State.SENDING, fulfillment.attempts + 1

    try:
        result = provider.lookup(fulfillment) if maybe_sent_before else None
        if result is None:
            result = provider.send(fulfillment)
    except TransientError as exc:
        with transaction.atomic():
            Fulfillment.objects.filter(pk=fulfillment.pk).update(last_error=exc.message)
            _order_started(order, note=f"Sending through {provider} (retrying: "
                                       f"{exc.message})")
        notifications.order_approval_notify_later(order=order)
        raise
    except PermanentError as exc:
        return finish_failed(fulfillment, exc.message, order=order)
    return _apply_result(fulfillment, result, provider, order=order)


def _order_started(order, *, note, fields=None):
    """Move an approved order to in progress (its outcome is not known yet), or only set
    `fields` on one already moved. In the caller's transaction."""
    if order.status == Status.APPROVED:
        try:
            order_transition(order=order, to=Status.IN_PROGRESS, note=note, fields=fields)
            return
        except Conflict:
            logger.info("Order %s changed while being sent", order.pk)
    if fields:
        ProgramOrder.objects.filter(pk=order.pk).update(**fields)


def fulfillment_give_up(*, fulfillment_id, error):
    """The task ran out of retries: the order fails with the last error."""
    fulfillment = _load(fulfillment_id)
    if fulfillment is None or fulfillment.state in Fulfillment.DONE:
        return None
    return finish_failed(fulfillment, f"Gave up after {fulfillment.attempts} attempts: {error}")


def _apply_result(fulfillment, result, provider, *, order=None):
    if result.status == "delivered":
        return finish_delivered(fulfillment, result.external_id,
                                 note=f"Delivered by {provider}.", order=order)
    if result.status == "failed":
        return finish_failed(fulfillment, f"{provider}: {result.message}",
                              external_id=result.external_id, order=order)
    now = timezone.now()
    with transaction.atomic():
        moved = Fulfillment.objects.filter(
            pk=fulfillment.pk, state=State.SENDING, round=fulfillment.round
        ).update(state=State.SENT, external_id=result.external_id, sent_at=now,
                 updated_at=now, last_error="")
        if moved:
            _order_started(order or fulfillment.order, note=f"Sent through {provider}.",
                           fields={"external_reference": result.external_id[:200]})
    if moved and order is not None:  # its first answer: on its way, so the rep hears it
        notifications.order_approval_notify_later(order=order)  # is approved
    return State.SENT


def _active_order(order_id):
    order = ProgramOrder.objects.select_related("item").get(pk=order_id)
    return order if order.status in ACTIVE else None


def _finish(fulfillment, *, state, to, note, fields, external_id="", order=None):
    """The fulfillment reached its outcome `state`: move the order to `to` in the same
    transaction. `order`, if given, is the order as this process read it; if someone moved
    it since (a marketer claimed it), it is re-read and moved from where it is now."""
    with transaction.atomic():
        moved = Fulfillment.objects.filter(
            pk=fulfillment.pk, round=fulfillment.round,
            state__in=[State.PENDING, State.SENDING, State.SENT],
        ).update(state=state, external_id=external_id or F("external_id"),
                 last_error=note if state == State.FAILED else "",
                 updated_at=timezone.now())
        if not moved:
            return None
        if order is None or order.status not in ACTIVE:
            order = _active_order(fulfillment.order_id)
        for _attempt in range(2):
            if order is None:
                break
            try:
                order_transition(order=order, to=to, note=note, fields=fields)
            except Conflict:
                order = _active_order(fulfillment.order_id)
                continue
            notifications.order_approval_notify_later(order=order, outcome=to)
            break
        else:
            logger.info("Order %s changed while being finished", fulfillment.order_id)
    return state


def finish_delivered(fulfillment, external_id, *, note, order=None):
    fields = {"external_reference": external_id[:200]} if external_id else {}
    return _finish(fulfillment, state=State.DELIVERED, to=Status.FULFILLED, note=note,
                   fields=fields, external_id=external_id, order=order)


def finish_failed(fulfillment, message, *, external_id="", order=None):
    return _finish(fulfillment, state=State.FAILED, to=Status.FAILED, note=message,
                   fields={"reason": message}, external_id=external_id, order=order)
