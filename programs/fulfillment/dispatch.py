"""Queueing sends: a provider order's Fulfillment is prepared in the approval's transaction and
its send task queued once that commits; the sweeper queues again what the broker lost or a
dead worker left behind.

Nothing is lost when the broker is down: the approval still succeeds and the row stays
"waiting to be sent" (no `dispatched_at`) until the sweeper queues it."""

import logging
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from abmcrm.core.queueing import publish

from ..conf import settings as conf
from ..models import Fulfillment, ProgramOrder
from .providers import is_automatic

logger = logging.getLogger(__name__)

Status = ProgramOrder.Status
State = Fulfillment.State
ACTIVE = (Status.APPROVED, Status.IN_PROGRESS)
# Published by name: the tasks module imports this one.
SEND_FULFILLMENT = "programs.tasks.send_fulfillment"


def fulfillment_prepare(*, order):
    """Called by `order_transition` inside the transaction that approves `order`: for a
    provider item, create (or start a new round of) its Fulfillment and queue the send task
    once the approval commits."""
    method = order.item.fulfillment_method
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
    Fulfillment.objects.filter(pk=fulfillment_id).update(dispatched_at=timezone.now())
    if publish(SEND_FULFILLMENT, fulfillment_id,
               **({"reconcile": True} if reconcile else {})):
        return True
    Fulfillment.objects.filter(pk=fulfillment_id).update(
        dispatched_at=None, last_error="Could not be queued (will be resent): the broker "
                                       "could not be reached.")
    return False


def retry_delay(retries):
    """Seconds before retry number `retries` + 1: exponential, capped, with jitter so that
    many orders failing together don't hit the provider together again."""
    delay = min(conf.ABMCRM_FULFILLMENT_RETRY_BACKOFF_MAX,
                conf.ABMCRM_FULFILLMENT_RETRY_BACKOFF * 2 ** retries)
    return random.uniform(delay / 2, delay)


def fulfillment_retry_later(*, fulfillment_id, delay):
    """Note that the send is retried in `delay` seconds (`dispatched_at` is then the retry's
    due time). The fulfillment stays "sending" meanwhile, since the provider may have the
    failed attempt, so the sweeper tells a send waiting for its retry from one a dead worker
    left behind by this time, not by its state."""
    Fulfillment.objects.filter(pk=fulfillment_id, state=State.SENDING).update(
        dispatched_at=timezone.now() + timedelta(seconds=delay))


# The sweeper ------------------------------------------------------------------------------

def fulfillment_redrive(*, older_than=None, now=None):
    """Queue again what should be moving and isn't:
    - approved provider orders that have no Fulfillment, or whose task was never queued
      (the broker was down) or was queued more than ABMCRM_FULFILLMENT_QUEUED_STUCK_AFTER
      seconds ago and never ran;
    - fulfillments stuck "sending" for ABMCRM_FULFILLMENT_STUCK_AFTER seconds (a worker died
      mid-call; a live one holds "sending" for one provider call or two, each within the
      provider's timeout) and not waiting for a retry: the task asks the provider by
      idempotency key before sending anything;
    - gifts sent but not delivered after the reconcile delay: the task asks the provider.
    `older_than` (seconds) replaces the first two delays. Returns {"queued", "not_queued"}."""
    now = now or timezone.now()
    if older_than is None:
        queued_stuck = now - timedelta(seconds=conf.ABMCRM_FULFILLMENT_QUEUED_STUCK_AFTER)
        stuck = now - timedelta(seconds=conf.ABMCRM_FULFILLMENT_STUCK_AFTER)
        sent_stuck = now - timedelta(seconds=conf.ABMCRM_FULFILLMENT_RECONCILE_SENT_AFTER)
    else:
        queued_stuck = stuck = now - timedelta(seconds=older_than)
        sent_stuck = now - timedelta(
            seconds=min(older_than, conf.ABMCRM_FULFILLMENT_RECONCILE_SENT_AFTER))
    batch = conf.ABMCRM_FULFILLMENT_SWEEP_BATCH

    methods = ProgramOrder.objects.filter(status__in=ACTIVE).values_list(
        "item__fulfillment_method", flat=True).distinct()
    automatic = [method for method in methods if is_automatic(method)]
    missing = ProgramOrder.objects.filter(
        status__in=ACTIVE, item__fulfillment_method__in=automatic
    ).exclude(Exists(Fulfillment.objects.filter(order=OuterRef("pk")))).select_related("item")
    for order in missing[:batch]:
        with transaction.atomic():
            Fulfillment.objects.get_or_create(
                order=order, provider=order.item.fulfillment_method,
                defaults={"idempotency_key": Fulfillment.key_for(
                    order.pk, order.item.fulfillment_method, 1)},
            )

    due = Fulfillment.objects.filter(order__status__in=ACTIVE).filter(
        Q(state=State.PENDING) & (Q(dispatched_at__isnull=True)
                                  | Q(dispatched_at__lt=queued_stuck))
        | Q(state=State.SENDING, updated_at__lt=stuck) & (Q(dispatched_at__isnull=True)
                                                          | Q(dispatched_at__lt=stuck))
        | Q(state=State.SENT, updated_at__lt=sent_stuck)
    ).order_by("updated_at").values_list("pk", "state")
    counts = {"queued": 0, "not_queued": 0}
    for pk, state in list(due[:batch]):
        queued = fulfillment_dispatch(fulfillment_id=pk, reconcile=state == State.SENT)
        counts["queued" if queued else "not_queued"] += 1
    return counts
