"""The pipeline's outbox events: `opportunity.created` and `opportunity.stage_changed`."""

import pytest

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from tests import factories
from tests.pipeline.helpers import bulk, day, deal, move

pytestmark = pytest.mark.django_db


def of(type):
    return list(OutboxEvent.objects.filter(type=type).order_by("id"))


def test_a_new_deal_and_its_moves_are_events(marketer):
    account = factories.AccountFactory()
    opportunity = deal(account, "prospecting", 1, amount=1000, by=marketer)
    [created] = of(outbox.OPPORTUNITY_CREATED)
    assert created.account_id == account.pk and created.data["stage"] == "prospecting"
    assert created.data["opportunity_id"] == opportunity.pk and created.occurred_at == day(1)
    move(opportunity, "won", 5, by=marketer)
    [changed] = of(outbox.OPPORTUNITY_STAGE_CHANGED)
    assert (changed.data["from_stage"], changed.data["to_stage"], changed.data["status"]) == (
        "prospecting", "won", "won")
    # The deal's event comes before the funnel move it causes.
    won = [e for e in of(outbox.FUNNEL_TRANSITION) if e.data["to_stage"] == "won"]
    assert won and won[-1].id > changed.id


def test_bulk_upserts_write_created_and_changed_events(marketer):
    account = factories.AccountFactory()
    result = bulk([{"external_id": "D-1", "account": account.domain, "stage": "prospecting",
                    "opened_at": day(1).isoformat(), "amount": "10"}], user=marketer)
    assert not result.errors
    bulk([{"external_id": "D-1", "account": account.domain, "stage": "proposal",
           "stage_changed_at": day(3).isoformat()}], user=marketer)
    assert len(of(outbox.OPPORTUNITY_CREATED)) == 1
    [changed] = of(outbox.OPPORTUNITY_STAGE_CHANGED)
    assert (changed.data["from_stage"], changed.data["to_stage"]) == ("prospecting", "proposal")
