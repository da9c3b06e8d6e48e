"""Plays under load and with a real worker: exactly once per event, automatic orders never
over a budget and never past approval (PostgreSQL for the races; the worker test on the
configured broker)."""

import pytest
from django.db import connection

from abmcrm.core.exceptions import Conflict
from abmcrm.core.models import OutboxEvent
from plays import consumer
from plays.models import EventReceipt, PlayOrder, PlayRun
from programs.models import Budget, ProgramOrder
from programs.services import order_approve
from tests.conftest import fire_together, wait_for
from tests.factories import BudgetFactory, MarketerFactory, PlayFactory, ProgramItemFactory, tier

PG_ONLY = pytest.mark.skipif(connection.vendor != "postgresql",
                             reason="SQLite serialises writers: nothing to race")


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_automatic_orders_never_exceed_a_budget_or_skip_approval(account):
    """Six events fire an ordering play at once; a marketer then approves every order
    the play placed, all at once. The orders were placed as requested (the item would be
    auto-approved for a rep), and approvals stop at the budget's limit."""
    item = ProgramItemFactory(menu_tiers=[1], unit_cost=100, auto_approve_up_to=1000)
    budget = BudgetFactory(limit=250)
    PlayFactory(created_by=MarketerFactory(), actions=[
        {"type": "order", "items": [item.pk], "max_per_account": 10, "period": "year"}])
    events = [OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                         data={"new_tier": {"number": 1}}) for _ in range(6)]
    EventReceipt.objects.bulk_create([EventReceipt(event_id=e.id) for e in events])
    results = fire_together([consumer.events_handle] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert PlayRun.objects.count() == 6
    orders = list(ProgramOrder.objects.all())
    assert len(orders) == PlayOrder.objects.count() == 6
    assert {order.status for order in orders} == {ProgramOrder.Status.REQUESTED}

    marketer = MarketerFactory(username="approver")
    results = fire_together([(lambda o=o: order_approve(order=o, by=marketer))
                             for o in orders])
    approved = [r for r in results if isinstance(r, ProgramOrder)]
    assert len(approved) == 2
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, ProgramOrder))
    budget.refresh_from_db()
    assert budget.committed == 200 and budget.committed <= budget.limit
    assert Budget.objects.get(pk=budget.pk).remaining == 50


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_play_cap_holds_under_concurrent_events(account):
    item = ProgramItemFactory(menu_tiers=[1])
    PlayFactory(actions=[{"type": "order", "items": [item.pk], "max_per_account": 2,
                          "period": "month"}])
    events = [OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                         data={}) for _ in range(8)]
    EventReceipt.objects.bulk_create([EventReceipt(event_id=e.id) for e in events])
    fire_together([consumer.events_handle] * 8)
    assert ProgramOrder.objects.count() == 2
    assert PlayRun.objects.count() == 8  # each fired once; six logged the cap


@pytest.mark.worker
def test_a_change_fires_its_play_through_a_real_worker(celery_worker_process, account,
                                                       marketer, items):
    """A tier override commits; the worker dispatches the outbox, hands the event to the
    plays and fires the play once; the sweeper run afterwards changes nothing."""
    from abmcrm.core.redrive import redrive_all
    from tiers.services.overrides import account_tier_override

    play = PlayFactory(conditions={"tier": [2]},
                       actions=[{"type": "suggest", "items": [items[1].pk]}])
    account_tier_override(account=account, tier=tier(2), reason="Expansion", by=marketer)

    def fired():
        """the play's run"""
        return PlayRun.objects.filter(play=play).first()

    run = wait_for(fired)
    assert run.results[0]["items"] == [items[1].pk]
    wait_for(lambda: not EventReceipt.objects.filter(handled_at__isnull=True).exists())
    redrive_all()
    assert PlayRun.objects.count() == 1
