"""The marketers' queue actions (programs/fulfillment/queue.py)."""


import pytest

from abmcrm.core.exceptions import Conflict, InvalidInput
from programs.fulfillment import queue
from programs.models import Fulfillment, OrderEvent, ProgramOrder
from programs.services import order_transition
from tests.factories import (
    BudgetFactory,
    ProgramOrderFactory,
)

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



class TestQueueServices:
    def test_claim_assigns_and_starts(self, marketer):
        order = ProgramOrderFactory(status=S.APPROVED)
        queue.order_claim(order=order, by=marketer)
        order.refresh_from_db()
        assert (order.status, order.assignee) == (S.IN_PROGRESS, marketer)
        assert OrderEvent.objects.get(order=order).note == "Claimed."

    def test_claiming_a_claimed_order_is_a_conflict(self, marketer, abm_admin):
        order = ProgramOrderFactory(status=S.APPROVED)
        stale = ProgramOrder.objects.get(pk=order.pk)
        queue.order_claim(order=order, by=marketer)
        with pytest.raises(Conflict, match="just changed"):
            queue.order_claim(order=stale, by=abm_admin)
        with pytest.raises(Conflict, match="only an approved order"):
            queue.order_claim(order=order, by=abm_admin)
        assert ProgramOrder.objects.get(pk=order.pk).assignee == marketer

    def test_complete_spends_the_budget_and_keeps_the_reference(self, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(cost=120)
        order_transition(order=order, to=S.APPROVED, by=marketer)
        queue.order_claim(order=order, by=marketer)
        queue.order_complete(order=order, by=marketer, external_reference="UPS 1Z999",
                                  note="Left at reception")
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FULFILLED and order.external_reference == "UPS 1Z999"
        assert order.events.last().note == "Left at reception"
        assert (budget.committed, budget.spent) == (0, 120)

    def test_fail_needs_a_reason_and_releases_the_budget(self, marketer):
        budget = BudgetFactory(limit=500)
        order = ProgramOrderFactory(cost=120)
        order_transition(order=order, to=S.APPROVED, by=marketer)
        with pytest.raises(InvalidInput) as error:
            queue.order_fail(order=order, by=marketer, reason="  ")
        assert error.value.detail == {"reason": ["A reason is required."]}
        queue.order_fail(order=order, by=marketer, reason="Contact left the company")
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FAILED and order.reason == "Contact left the company"
        assert budget.committed == 0

    def test_retry_only_from_failed(self, marketer):
        order = ProgramOrderFactory(status=S.FULFILLED)
        with pytest.raises(Conflict):
            queue.order_retry(order=order, by=marketer)

def test_queue_page_refuses_an_overlong_reference(client, marketer):
    from programs.models import ProgramOrder
    from programs.services import order_transition
    from tests.factories import ProgramOrderFactory

    order = ProgramOrderFactory()
    order_transition(order=order, to=ProgramOrder.Status.APPROVED, by=marketer)
    client.force_login(marketer)
    response = client.post(f"/fulfillment/{order.pk}/complete/",
                           {"external_reference": "x" * 300}, follow=True)
    assert "200 characters at most" in response.content.decode()
    order.refresh_from_db()
    assert order.status == ProgramOrder.Status.APPROVED
