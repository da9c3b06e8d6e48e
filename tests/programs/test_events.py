"""Orders' outbox events: `order.status_changed`, written with each move
(programs/transitions.py)."""

import pytest

from abmcrm.core import outbox
from abmcrm.core.exceptions import Conflict
from abmcrm.core.models import OutboxEvent
from programs.models import OrderEvent, ProgramOrder
from programs.services import order_transition
from tests.factories import BudgetFactory, ProgramOrderFactory

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status


def test_each_status_change_is_an_event(marketer):
    order = ProgramOrderFactory(cost=100)
    order_transition(order=order, to=S.APPROVED, by=marketer, note="ok")
    [event] = OutboxEvent.objects.filter(type=outbox.ORDER_STATUS_CHANGED)
    history = OrderEvent.objects.get(order=order)
    assert event.account_id == order.account_id
    assert event.data == {"order_id": order.pk, "account_id": order.account_id,
                          "item_id": order.item_id, "from_status": "requested",
                          "to_status": "approved", "by": marketer.pk, "note": "ok",
                          "event_id": history.pk}
    assert event.occurred_at == history.at


def test_a_refused_move_writes_no_event(marketer):
    BudgetFactory(limit=50)
    order = ProgramOrderFactory(cost=100)
    with pytest.raises(Conflict):
        order_transition(order=order, to=S.APPROVED, by=marketer)
    assert not OutboxEvent.objects.exists()
