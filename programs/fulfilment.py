"""Fulfilment services: the marketers' queue actions, sending orders through providers,
the sweeper and provider webhooks.

Every status change goes through `services.order_transition` (the one compare-and-set), so
budgets move (spent on fulfilment, released on failure), the history is written and the
signal is sent exactly as for approval. A `Fulfillment` row carries the provider side: its
state, the idempotency key sent with every call, the provider's id and the last error.

The send path is built so that nothing is lost and nothing is sent twice:
- the row is created in the approval's transaction and the task is queued only after it
  commits; if the broker is down the approval still succeeds and the row stays "waiting to
  be sent" (no `dispatched_at`) until the sweeper queues it;
- the task claims each attempt with a compare-and-set on the row, and an attempt that may
  have reached the provider before (a retry, a redelivery, a worker killed mid-call) first
  asks the provider by idempotency key and only sends if it never got it; the key also
  makes a duplicate send harmless at the provider.
"""

import logging
import random
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from abmcrm.core.db.compiled import CompiledGet
from abmcrm.core.exceptions import Conflict, InvalidInput

from . import notifications
from .conf import settings as conf
from .models import Fulfillment, ProgramOrder, ProviderEvent
from .providers import PermanentError, TransientError, get_provider, is_automatic
from .services import order_transition, refuse_while_sending

logger = logging.getLogger(__name__)

Status = ProgramOrder.Status
State = Fulfillment.State
ACTIVE = (Status.APPROVED, Status.IN_PROGRESS)


# The marketers' queue ---------------------------------------------------------------------

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


# Sending through providers ----------------------------------------------------------------

def fulfillment_prepare(*, order):
    """Called by `order_transition` inside the transaction that approves `order`: for a
    provider item, create (or start a new round of) its Fulfillment and queue the send task
    once the approval commits."""
    method = order.item.fulfilment_method
    if not is_automatic(method):
        return None
    fulfillment = Fulfillment.objects.filter(order=order, provider=method).first()
    if fulfillment is None:
        fulfillment = Fulfillment.objects.create(
            order=order, provider=method, round=1,
            idempotency_key=Fulfillment.key_for(order.pk, method, 1),
        )
    else:
        fulfillment.round += 1
        fulfillment.idempotency_key = Fulfillment.key_for(order.pk, method, fulfillment.round)
        fulfillment.state, fulfillment.external_id = State.PENDING, ""
        fulfillment.attempts, fulfillment.last_error = 0, ""
        fulfillment.dispatched_at = fulfillment.sent_at = None
        fulfillment.save()
    pk = fulfillment.pk
    transaction.on_commit(lambda: fulfillment_dispatch(fulfillment_id=pk))
    return fulfillment


def fulfillment_dispatch(*, fulfillment_id, reconcile=False):
    """Queue the send task. Never raises: if the broker cannot be reached (quickly: see the
    publish retry policy in settings), the row stays waiting and the sweeper queues it.
    `reconcile`: also ask the provider about a gift already sent (the sweeper's check)."""
    from .tasks import send_fulfillment

    Fulfillment.objects.filter(pk=fulfillment_id).update(dispatched_at=timezone.now())
    try:
        send_fulfillment.apply_async((fulfillment_id,),
                                     {"reconcile": True} if reconcile else {})
    except Exception as exc:  # noqa: BLE001 - any broker failure: leave it to the sweeper
        logger.warning("Fulfillment %s not queued, the sweeper will: %s", fulfillment_id, exc)
        Fulfillment.objects.filter(pk=fulfillment_id).update(
            dispatched_at=None, last_error=f"Could not be queued (will be resent): {exc}"
        )
        return False
    return True


def retry_delay(retries):
    """Seconds before retry number `retries` + 1: exponential, capped, with jitter so that
    many orders failing together don't hit the provider together again."""
    delay = min(conf.ABMCRM_FULFILMENT_RETRY_BACKOFF_MAX,
                conf.ABMCRM_FULFILMENT_RETRY_BACKOFF * 2 ** retries)
    return random.uniform(delay / 2, delay)


# The fulfillment with what sending and the rep's e-mail need (a gift's contact is loaded by
# its provider), or None. Every send reads it: compiled once per process (tiers.compiled).
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
        return _finish_failed(fulfillment, exc.message)

    if fulfillment.state == State.SENT:
        if not reconcile:
            return None
        # Sent long ago and no webhook yet: ask the provider where it is.
        result = provider.lookup(fulfillment)
        if result is None:
            return _finish_failed(fulfillment, f"{provider} has no record of this order.")
        if result.status == "accepted":
            Fulfillment.objects.filter(pk=fulfillment.pk).update(updated_at=timezone.now())
            return fulfillment.state
        return _apply_result(fulfillment, result, provider)

    maybe_sent_before = fulfillment.state == State.SENDING or fulfillment.attempts > 0
    if not _claim(fulfillment):
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
        return _finish_failed(fulfillment, exc.message, order=order)
    return _apply_result(fulfillment, result, provider, order=order)


def _claim(fulfillment):
    """Claim this attempt: mark the fulfillment sending if it is still as read and its order
    is still approved or in progress. Of two concurrent deliveries of the task only one
    proceeds. The order itself moves once, by the provider's answer: fulfilled or failed if
    that is the outcome, otherwise in progress (a gift on its way, a send being retried).

    The subquery takes the order's row lock, as a cancel or a manual move does before it
    checks `services.refuse_while_sending`: either that move commits first (PostgreSQL then
    re-checks the status and nothing is sent), or it sees this send and is refused. On
    SQLite a write transaction already excludes every other writer. One statement in
    autocommit, not a transaction around SELECT … FOR UPDATE and UPDATE: every send passes
    here, and the ORM locks rows only inside a transaction."""
    f, o = Fulfillment._meta, ProgramOrder._meta
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {f.db_table} SET state = %s, attempts = attempts + 1, updated_at = %s "
            f"WHERE id = %s AND state = %s AND round = %s AND attempts = %s AND EXISTS ("
            f"SELECT 1 FROM {o.db_table} WHERE id = %s AND status IN (%s, %s){lock})",
            [State.SENDING, now, fulfillment.pk, fulfillment.state, fulfillment.round,
             fulfillment.attempts, fulfillment.order_id, *ACTIVE],
        )
        return cursor.rowcount == 1


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
    return _finish_failed(fulfillment, f"Gave up after {fulfillment.attempts} attempts: {error}")


def _apply_result(fulfillment, result, provider, *, order=None):
    if result.status == "delivered":
        return _finish_delivered(fulfillment, result.external_id,
                                 note=f"Delivered by {provider}.", order=order)
    if result.status == "failed":
        return _finish_failed(fulfillment, f"{provider}: {result.message}",
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


def _finish_delivered(fulfillment, external_id, *, note, order=None):
    fields = {"external_reference": external_id[:200]} if external_id else {}
    return _finish(fulfillment, state=State.DELIVERED, to=Status.FULFILLED, note=note,
                   fields=fields, external_id=external_id, order=order)


def _finish_failed(fulfillment, message, *, external_id="", order=None):
    return _finish(fulfillment, state=State.FAILED, to=Status.FAILED, note=message,
                   fields={"reason": message}, external_id=external_id, order=order)


# The sweeper ------------------------------------------------------------------------------

def fulfillment_redrive(*, older_than=None, now=None):
    """Queue again what should be moving and isn't:
    - approved provider orders that have no Fulfillment, or whose task was never queued
      (the broker was down) or was queued more than `older_than` seconds ago and never ran;
    - fulfillments stuck "sending" for `older_than` seconds (a worker died mid-call): the
      task asks the provider by idempotency key before sending anything;
    - gifts sent but not delivered after the reconcile delay: the task asks the provider.
    Returns {"queued": n, "not_queued": n}."""
    now = now or timezone.now()
    older_than = conf.ABMCRM_FULFILMENT_STUCK_AFTER if older_than is None else older_than
    stuck = now - timedelta(seconds=older_than)
    sent_stuck = now - timedelta(
        seconds=min(older_than, conf.ABMCRM_FULFILMENT_RECONCILE_SENT_AFTER))
    batch = conf.ABMCRM_FULFILMENT_SWEEP_BATCH

    methods = ProgramOrder.objects.filter(status__in=ACTIVE).values_list(
        "item__fulfilment_method", flat=True).distinct()
    automatic = [method for method in methods if is_automatic(method)]
    missing = ProgramOrder.objects.filter(
        status__in=ACTIVE, item__fulfilment_method__in=automatic
    ).exclude(Exists(Fulfillment.objects.filter(order=OuterRef("pk")))).select_related("item")
    for order in missing[:batch]:
        with transaction.atomic():
            Fulfillment.objects.get_or_create(
                order=order, provider=order.item.fulfilment_method,
                defaults={"idempotency_key": Fulfillment.key_for(
                    order.pk, order.item.fulfilment_method, 1)},
            )

    due = Fulfillment.objects.filter(order__status__in=ACTIVE).filter(
        Q(state=State.PENDING) & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stuck))
        | Q(state=State.SENDING, updated_at__lt=stuck)
        | Q(state=State.SENT, updated_at__lt=sent_stuck)
    ).order_by("updated_at").values_list("pk", "state")
    counts = {"queued": 0, "not_queued": 0}
    for pk, state in list(due[:batch]):
        queued = fulfillment_dispatch(fulfillment_id=pk, reconcile=state == State.SENT)
        counts["queued" if queued else "not_queued"] += 1
    return counts


# Webhooks ---------------------------------------------------------------------------------

def webhook_receive(*, provider, event, payload):
    """Apply one verified webhook event. Idempotent on the provider's event id. Returns
    "applied", "duplicate" or "ignored"; InvalidInput if no fulfillment matches (the
    provider retries later, e.g. when its webhook overtook our storing of its id)."""
    match = Q()
    if event.external_id:
        match |= Q(external_id=event.external_id)
    if event.idempotency_key:
        match |= Q(idempotency_key=event.idempotency_key)
    fulfillment = (
        Fulfillment.objects.filter(match, provider=provider.name).order_by("-round").first()
        if match else None
    )
    if fulfillment is None:
        raise InvalidInput("No fulfilment matches this event's id.", code="unknown_fulfillment")
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(provider=provider.name, event_id=event.event_id,
                                         fulfillment=fulfillment, kind=event.kind,
                                         payload=payload)
            if event.outcome == "delivered":
                done = _finish_delivered(fulfillment, event.external_id,
                                         note=f"{provider}: {event.kind}.")
            elif event.outcome == "failed":
                done = _finish_failed(fulfillment, f"{provider}: {event.message}")
            else:
                done = None
    except IntegrityError:
        return "duplicate"
    return "applied" if done else "ignored"
