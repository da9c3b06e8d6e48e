"""The order state machine: `order_transition` is the one place where an order's status
changes, along `ProgramOrder.TRANSITIONS`, with a compare-and-set; budgets are committed,
spent or released with the move, in its transaction, and its history row and signal
written there too."""

from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from abmcrm.core import outbox
from abmcrm.core.exceptions import Conflict

from . import notifications, selectors, signals, sql
from .conf import settings as conf
from .fulfillment import dispatch
from .models import Budget, Fulfillment, OrderEvent, ProgramOrder

Status = ProgramOrder.Status


# Budgets -----------------------------------------------------------------------------------

def budgets_covering(*, order, on=None):
    """The budgets an order's cost is booked in: every budget whose period contains `on`
    (default today) and whose scope is everything, the order's tier, item or campaign.
    The same rule (`selectors.budget_covers`) tells the menu what budget is left."""
    return [
        budget for budget in selectors.budgets_active(on=on)
        if selectors.budget_covers(budget, item_id=order.item_id,
                                   campaign_id=order.item.campaign_id, tier_id=order.tier_id)
    ]


def _budgets_commit(order):
    """Commit the order's cost in every covering budget, or in none.

    Each budget is charged by one conditional UPDATE (WHERE committed + spent + cost <=
    limit), which PostgreSQL re-checks after taking the row lock, so two concurrent
    approvals can never both pass the check; the check constraint is the last guard."""
    budgets = budgets_covering(order=order)
    for budget in budgets:
        charged = Budget.objects.filter(
            pk=budget.pk, committed__lte=F("limit") - F("spent") - order.cost
        ).update(committed=F("committed") + order.cost)
        if not charged:
            budget.refresh_from_db()
            raise Conflict(
                f"Budget “{budget.name}” has {budget.remaining} {order.currency} left, "
                f"not enough for this order ({order.cost} {order.currency}).",
                code="budget_exceeded",
            )
    order.budgets.set(budgets)



# The order state machine -------------------------------------------------------------------

def _stamp(order, to, now):
    """Fields that change with a move to `to`."""
    fields = {"status": to, "updated_at": now}
    if to == Status.APPROVED:
        fields["approved_at"] = now
        fields["due_at"] = now + timedelta(days=order.item.lead_time_days)
    if to in (Status.FULFILLED, Status.REJECTED, Status.CANCELLED, Status.FAILED):
        fields["closed_at"] = now
    if to == Status.APPROVED and order.status == Status.FAILED:
        fields["closed_at"] = None
    return fields


def _book_budgets(order, from_status, to):
    if to == Status.APPROVED:
        _budgets_commit(order)
    elif to == Status.FULFILLED and from_status in ProgramOrder.COMMITTED:
        sql.budgets_move(order, spend=True)
    elif to in (Status.FAILED, Status.CANCELLED) and from_status in ProgramOrder.COMMITTED:
        sql.budgets_move(order, spend=False)


# How a move to each status is said ("Order #3 is fulfilled; it cannot be cancelled…").
_MOVE_NAMES = {Status.APPROVED: "approved", Status.REJECTED: "rejected",
               Status.CANCELLED: "cancelled", Status.IN_PROGRESS: "started",
               Status.FULFILLED: "marked fulfilled", Status.FAILED: "marked failed"}


def _refusal(pk, from_status, to):
    """Why an order in `from_status` cannot move to `to`, and which orders could."""
    sources = [Status(s).label.lower() for s, targets in ProgramOrder.TRANSITIONS.items()
               if to in targets]
    could = (f"only {' or '.join(sources)} orders can be" if sources else
             "no order can be")
    return (f"Order #{pk} is {Status(from_status).label.lower()}; it cannot be "
            f"{_MOVE_NAMES.get(to, Status(to).label.lower())} ({could}).")


def order_transition(*, order, to, by=None, note="", fields=None):
    """Move an order to status `to`: the one place where an order's status changes.

    A compare-and-set (UPDATE … WHERE status = <the status we read>) applies the move, so of
    two concurrent moves from the same status exactly one wins and the other gets Conflict
    (409). Budgets, the OrderEvent history row and the signal happen in the same transaction.
    `fields` are extra columns to set with the move (e.g. assignee, reason)."""
    from_status = order.status
    if to not in ProgramOrder.TRANSITIONS.get(from_status, set()):
        raise Conflict(_refusal(order.pk, from_status, to), code="invalid_transition")
    now = timezone.now()
    values = {**_stamp(order, to, now), **(fields or {})}
    # Only an approval can fail after its compare-and-set (a budget short), so only an
    # approval needs a savepoint to undo it inside a caller's transaction; every other move
    # writes nothing unless the compare-and-set succeeds, and then cannot be refused.
    try:
        with transaction.atomic(savepoint=to == Status.APPROVED):
            moved = ProgramOrder.objects.filter(pk=order.pk, status=from_status).update(**values)
            if moved:
                _transition_apply(order, from_status, to, by, note, values)
    except IntegrityError as exc:
        order.status = from_status
        if to != Status.APPROVED:
            raise  # not a refusal of this move: the caller's transaction is broken
        # The budget check constraint: the budget conflict the conditional update would
        # have reported (the savepoint undid the move).
        raise Conflict("A budget covering this order would be overspent.",
                       code="budget_exceeded") from exc
    except Conflict:
        order.status = from_status
        raise
    if not moved:
        current = ProgramOrder.objects.filter(pk=order.pk).values_list(
            "status", flat=True).first()
        raise Conflict(
            f"Order #{order.pk} was just changed by someone else (it is now {current}); "
            f"reload and try again.",
            code="concurrent_change",
        )
    return order


def _transition_apply(order, from_status, to, by, note, values):
    """What follows a successful compare-and-set, in its transaction: budgets, the history
    row, the send task of a provider item, the signal and the rep's e-mail."""
    _book_budgets(order, from_status, to)
    for name, value in values.items():
        setattr(order, name, value)
    fulfillment = None
    if to == Status.APPROVED:
        # A provider item's send task is queued once this approval commits.
        fulfillment = dispatch.fulfillment_prepare(order=order)
    # The rep's e-mail goes after commit, and only if this transaction survives: no mail for
    # a rollback. The approval of an order sent through a provider is mailed by its send
    # task instead, and only if the provider's first answer is not already the outcome.
    # Mailed from this very process (a worker), the event is marked at creation.
    mail = to in conf.ABMCRM_ORDER_NOTIFY_STATUSES and fulfillment is None
    event = OrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to, by=by, note=note,
        notified_at=values["updated_at"] if mail and notifications.mails_here() else None,
    )
    outbox.emit(outbox.ORDER_STATUS_CHANGED, account_id=order.account_id, data={
        "order_id": order.pk, "account_id": order.account_id, "item_id": order.item_id,
        "from_status": from_status, "to_status": to, "by": by.pk if by else None,
        "note": note or "", "event_id": event.pk}, occurred_at=event.at)
    signals.order_status_changed.send(
        sender=ProgramOrder, order=order, from_status=from_status, to_status=to, by=by,
        event=event,
    )
    if mail:
        transaction.on_commit(partial(notifications.order_status_notify_later, event=event),
                              robust=True)  # a failing callback must not skip this mail
    return order


def refuse_while_sending(order, what):
    """Conflict if a provider call for this approved order is under way (or was cut off
    mid-call and is not yet reconciled): it may already have reached the provider. Call it
    in the transaction of the move: it takes the order's row lock, which the send task's
    claim holds too (`fulfillment.sending.fulfillment_process`), so the two cannot interleave."""
    if order.status != Status.APPROVED:
        return
    ProgramOrder.objects.select_for_update().filter(pk=order.pk).values_list("pk").first()
    if Fulfillment.objects.filter(order=order, state=Fulfillment.State.SENDING).exists():
        raise Conflict(
            f"Order #{order.pk} is being sent through its provider right now; it cannot be "
            f"{what} until the provider has answered.",
            code="being_sent",
        )
