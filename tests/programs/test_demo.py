import pytest
from django.core.management import call_command

from programs.fulfillment.selectors import fulfillment_counts
from programs.models import Budget, Campaign, MenuEntry, OrderEvent, ProgramItem, ProgramOrder

pytestmark = pytest.mark.django_db


def _snapshot():
    return (Campaign.objects.count(), ProgramItem.objects.count(), MenuEntry.objects.count(),
            Budget.objects.count(), ProgramOrder.objects.count(), OrderEvent.objects.count(),
            sorted(Budget.objects.values_list("committed", "spent")))


def test_demo_loads_every_kind_and_statuses_and_is_idempotent():
    call_command("load_demo", verbosity=0)
    assert set(ProgramItem.objects.values_list("kind", flat=True)) == set(ProgramItem.Kind.values)
    for number in (1, 2, 3):
        assert MenuEntry.objects.filter(tier__number=number).count() >= 3
    statuses = set(ProgramOrder.objects.values_list("status", flat=True))
    assert {"requested", "approved", "rejected", "cancelled", "fulfilled", "failed"} <= statuses
    assert all(order.account.owner.username == "rep" for order in ProgramOrder.objects.all())
    # The queue has an overdue order to find (its filter and count have something to show).
    assert fulfillment_counts()["overdue"] == 1
    first = _snapshot()
    call_command("load_demo", verbosity=0)
    assert _snapshot() == first
