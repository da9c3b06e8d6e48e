from decimal import Decimal

import pytest

from abmcrm.core.exceptions import Conflict
from programs.models import OrderEvent, ProgramOrder
from programs.services import order_transition
from tests.factories import BudgetFactory, ProgramOrderFactory

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


def test_approve_commits_budget_and_writes_history(marketer):
    budget = BudgetFactory(limit=250)
    order = ProgramOrderFactory(cost=100)
    order_transition(order=order, to=S.APPROVED, by=marketer, note="ok")
    budget.refresh_from_db()
    assert order.status == S.APPROVED and order.approved_at and order.due_at
    assert budget.committed == 100 and budget.spent == 0
    event = OrderEvent.objects.get(order=order)
    assert (event.from_status, event.to_status, event.by, event.note) == (
        "requested", "approved", marketer, "ok")


def test_fulfil_moves_committed_to_spent_and_fail_releases(marketer):
    budget = BudgetFactory(limit=1000)
    done, failed = ProgramOrderFactory(cost=100), ProgramOrderFactory(cost=300)
    for order in (done, failed):
        order_transition(order=order, to=S.APPROVED, by=marketer)
    order_transition(order=done, to=S.FULFILLED, by=marketer)
    order_transition(order=failed, to=S.IN_PROGRESS, by=marketer)
    order_transition(order=failed, to=S.FAILED, by=marketer)
    budget.refresh_from_db()
    assert (budget.committed, budget.spent) == (0, 100)
    # A retry commits the cost again.
    order_transition(order=failed, to=S.APPROVED, by=marketer)
    budget.refresh_from_db()
    assert (budget.committed, budget.spent) == (300, 100)


def test_fulfil_and_fail_move_only_the_budgets_the_order_is_booked_in(marketer):
    everything = BudgetFactory(limit=1000)
    order = ProgramOrderFactory(cost=Decimal("120.50"))
    per_item = BudgetFactory(limit=500, scope="item", item=order.item)
    other_item = BudgetFactory(limit=500, scope="item", item=ProgramOrderFactory().item)
    failed = ProgramOrderFactory(cost=Decimal("30.00"), item=order.item)
    for approved in (order, failed):
        order_transition(order=approved, to=S.APPROVED, by=marketer)
    order_transition(order=order, to=S.FULFILLED, by=marketer)
    order_transition(order=failed, to=S.FAILED, by=marketer)
    for budget in (everything, per_item, other_item):
        budget.refresh_from_db()
    assert (everything.committed, everything.spent) == (0, Decimal("120.50"))
    assert (per_item.committed, per_item.spent) == (0, Decimal("120.50"))
    assert (other_item.committed, other_item.spent) == (0, 0)


def test_budget_exactly_at_limit_passes_one_cent_over_is_refused(marketer):
    budget = BudgetFactory(limit=Decimal("200.00"), name="Q4 gifts")
    first = ProgramOrderFactory(cost=Decimal("150.00"))
    exact = ProgramOrderFactory(cost=Decimal("50.00"))
    over = ProgramOrderFactory(cost=Decimal("0.01"))
    order_transition(order=first, to=S.APPROVED, by=marketer)
    order_transition(order=exact, to=S.APPROVED, by=marketer)
    with pytest.raises(Conflict, match="Q4 gifts"):
        order_transition(order=over, to=S.APPROVED, by=marketer)
    over.refresh_from_db()
    budget.refresh_from_db()
    assert over.status == S.REQUESTED and budget.committed == 200
    assert not OrderEvent.objects.filter(order=over).exists()


def test_disallowed_move_is_a_conflict(marketer):
    order = ProgramOrderFactory()
    order_transition(order=order, to=S.CANCELLED, by=marketer)
    with pytest.raises(Conflict, match="cancelled"):
        order_transition(order=order, to=S.APPROVED, by=marketer)


def test_stale_read_loses_the_compare_and_set(marketer, abm_admin):
    order = ProgramOrderFactory()
    stale = ProgramOrder.objects.get(pk=order.pk)
    order_transition(order=order, to=S.APPROVED, by=marketer)
    with pytest.raises(Conflict, match="just changed"):
        order_transition(order=stale, to=S.REJECTED, by=abm_admin)
    assert ProgramOrder.objects.get(pk=order.pk).status == S.APPROVED
    assert OrderEvent.objects.filter(order=order).count() == 1
