from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from tiers.exceptions import Conflict

from . import signals
from .models import Budget, OrderEvent, ProgramOrder

Status = ProgramOrder.Status


# Budgets -----------------------------------------------------------------------------------

def budgets_covering(*, order, on=None):
    """The budgets an order's cost is booked in: every budget whose period contains `on`
    (default today) and whose scope is everything, the order's tier, item or campaign."""
    on = on or timezone.localdate()
    scope = Q(scope=Budget.Scope.ALL) | Q(scope=Budget.Scope.ITEM, item_id=order.item_id) | Q(
        scope=Budget.Scope.CAMPAIGN, campaign_id=order.item.campaign_id
    )
    if order.tier_id:
        scope |= Q(scope=Budget.Scope.TIER, tier_id=order.tier_id)
    return Budget.objects.filter(scope, start_date__lte=on, end_date__gte=on).order_by("pk")


def _budgets_commit(order):
    """Commit the order's cost in every covering budget, or in none.

    Each budget is charged by one conditional UPDATE (WHERE committed + spent + cost <=
    limit), which PostgreSQL re-checks after taking the row lock, so two concurrent
    approvals can never both pass the check; the check constraint is the last guard."""
    budgets = list(budgets_covering(order=order))
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


def _budgets_spend(order):
    Budget.objects.filter(pk__in=order.budgets.values("pk")).update(
        committed=F("committed") - order.cost, spent=F("spent") + order.cost
    )


def _budgets_release(order):
    Budget.objects.filter(pk__in=order.budgets.values("pk")).update(
        committed=F("committed") - order.cost
    )


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
        _budgets_spend(order)
    elif to in (Status.FAILED, Status.CANCELLED) and from_status in ProgramOrder.COMMITTED:
        _budgets_release(order)


def order_transition(*, order, to, by=None, note="", fields=None):
    """Move an order to status `to`: the one place where an order's status changes.

    A compare-and-set (UPDATE … WHERE status = <the status we read>) applies the move, so of
    two concurrent moves from the same status exactly one wins and the other gets Conflict
    (409). Budgets, the OrderEvent history row and the signal happen in the same transaction.
    `fields` are extra columns to set with the move (e.g. assignee, reason)."""
    from_status = order.status
    if to not in ProgramOrder.TRANSITIONS.get(from_status, set()):
        raise Conflict(
            f"Order #{order.pk} is {Status(from_status).label.lower()}; it cannot become "
            f"{Status(to).label.lower()}.",
            code="invalid_transition",
        )
    now = timezone.now()
    values = {**_stamp(order, to, now), **(fields or {})}
    try:
        with transaction.atomic():
            moved = ProgramOrder.objects.filter(pk=order.pk, status=from_status).update(**values)
            if not moved:
                current = ProgramOrder.objects.filter(pk=order.pk).values_list(
                    "status", flat=True
                ).first()
                raise Conflict(
                    f"Order #{order.pk} was just changed by someone else (it is now "
                    f"{current}); reload and try again.",
                    code="concurrent_change",
                )
            _book_budgets(order, from_status, to)
            for name, value in values.items():
                setattr(order, name, value)
            event = OrderEvent.objects.create(order=order, from_status=from_status,
                                              to_status=to, by=by, note=note)
            if to == Status.APPROVED:
                # A provider item's send task is queued once this approval commits.
                from .fulfilment import fulfillment_prepare

                fulfillment_prepare(order=order)
            signals.order_status_changed.send(
                sender=ProgramOrder, order=order, from_status=from_status, to_status=to,
                by=by, event=event,
            )
    except IntegrityError as exc:
        # Only the budget check constraint can fail here: treat it as the budget conflict
        # the conditional update would have reported.
        order.status = from_status
        raise Conflict("A budget covering this order would be overspent.",
                       code="budget_exceeded") from exc
    except Conflict:
        order.status = from_status
        raise
    return order
