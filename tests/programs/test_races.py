"""Concurrency, for real: threads with their own database connections, released together by
a barrier, on PostgreSQL (SQLite serialises every writer, so there is no race to lose)."""

from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from abmcrm.core import roles
from programs.models import Budget, OrderEvent, ProgramOrder
from tests.conftest import fire_together
from tests.factories import AccountFactory, BudgetFactory, ProgramItemFactory, RepFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("Races need concurrent writers; SQLite serialises them (run on PostgreSQL).")


def _approver(user, order_id):
    def call():
        client = APIClient()
        client.force_authenticate(user)
        return client.post(f"/api/v1/orders/{order_id}/approve/").status_code
    return call


@pytest.mark.parametrize("round_", range(5))
def test_50_concurrent_approvals_never_overspend(round_, marketer):
    roles.has_role(marketer, *roles.ROLES)  # cache the roles before the threads share it
    budget = BudgetFactory(limit=Decimal("1000"), name="Race budget")
    rep = RepFactory()
    item = ProgramItemFactory(unit_cost=100)
    orders = [ProgramOrder.objects.create(account=AccountFactory(), item=item, cost=100,
                                          requested_by=rep) for _ in range(50)]
    codes = fire_together([_approver(marketer, order.pk) for order in orders])
    assert sorted(codes) == [200] * 10 + [409] * 40, codes
    budget.refresh_from_db()
    assert budget.committed == Decimal("1000") and budget.remaining == 0
    assert ProgramOrder.objects.filter(status="approved").count() == 10
    assert OrderEvent.objects.filter(to_status="approved").count() == 10
    assert Budget.objects.get(pk=budget.pk).orders.count() == 10


def test_two_marketers_approving_one_order_yield_one_approval(marketer, abm_admin):
    for user in (marketer, abm_admin):
        roles.has_role(user, *roles.ROLES)
    budget = BudgetFactory(limit=Decimal("1000"))
    order = ProgramOrder.objects.create(account=AccountFactory(),
                                        item=ProgramItemFactory(unit_cost=100), cost=100,
                                        requested_by=RepFactory())
    codes = fire_together([_approver(marketer, order.pk), _approver(abm_admin, order.pk)])
    assert sorted(codes) == [200, 409], codes
    budget.refresh_from_db()
    assert budget.committed == 100
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_concurrent_submits_respect_the_per_account_limit(rep):
    from programs import services
    from tests.factories import tier

    roles.has_role(rep, *roles.ROLES)
    account = AccountFactory(owner=rep, tier=tier(1))
    gift = ProgramItemFactory(menu_tiers=[1], limit_per_account=1)

    def submit():
        try:
            return len(services.order_submit(account=account, items=[gift.pk],
                                             requested_by=rep))
        except services.InvalidInput:
            return 0

    results = fire_together([submit] * 10)
    assert sorted(results) == [0] * 9 + [1], results
    assert ProgramOrder.objects.filter(account=account).count() == 1


def test_cancel_racing_the_send_task_never_cancels_a_sent_order(fake_provider):
    """The rep cancels while the worker starts sending: either the cancel wins and nothing
    reaches the provider, or the send wins and the cancel is refused. Never both."""
    from programs.fulfillment.sending import fulfillment_process
    from programs.models import Fulfillment

    item = ProgramItemFactory(fulfillment_method="ad_audience", unit_cost=10)
    outcomes = set()
    for _ in range(12):
        rep = RepFactory()
        order = ProgramOrder.objects.create(account=AccountFactory(), item=item, cost=10,
                                            requested_by=rep, status="approved")
        fulfillment = Fulfillment.objects.create(
            order=order, provider="ad_audience",
            idempotency_key=Fulfillment.key_for(order.pk, "ad_audience", 1))

        def cancel(rep=rep, order=order):
            client = APIClient()
            client.force_authenticate(rep)
            return client.post(f"/api/v1/orders/{order.pk}/cancel/", {}).status_code

        def send(fulfillment=fulfillment):
            return fulfillment_process(fulfillment_id=fulfillment.pk)

        cancelled, sent = fire_together([cancel, send])
        order.refresh_from_db()
        created = [m for m in fake_provider.created() if m["idempotency_key"]
                   == fulfillment.idempotency_key]
        if cancelled == 200:
            assert order.status == "cancelled" and not created and sent is None
        else:
            assert cancelled == 409 and order.status == "fulfilled" and len(created) == 1
        outcomes.add(cancelled)
    assert outcomes <= {200, 409}
