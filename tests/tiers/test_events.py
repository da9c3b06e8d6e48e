"""The tiers app's outbox events (tiers/events.py): tier moves, first engagements and newly
surging topics, written with the recompute or the override that made them."""

import pytest

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from tests.factories import AccountFactory, tier
from tests.tiers.scoring_helpers import NOW, fresh, goldilocks, icp, recompute, signal
from tiers import services
from tiers.models import TierAssignment

pytestmark = pytest.mark.django_db


def events(type):
    return list(OutboxEvent.objects.filter(type=type).order_by("id"))


@pytest.fixture(autouse=True)
def profile():
    icp(("industry", {"values": ["software"]}, 1))


def test_a_recompute_writes_tier_engaged_and_surging_events_once():
    account = goldilocks(80_000, intent=True, engagement=True)
    recompute()
    recompute()  # nothing changed: no more events
    [moved] = events(outbox.ACCOUNT_TIER_CHANGED)
    assignment = TierAssignment.objects.get(account=account)
    assert moved.account_id == account.pk
    assert moved.data == {"account_id": account.pk, "old_tier": None,
                          "new_tier": {"id": tier(1).pk, "number": 1, "name": tier(1).name},
                          "assignment_id": assignment.pk, "by": None}
    [engaged] = events(outbox.ACCOUNT_ENGAGED)
    assert engaged.account_id == account.pk and engaged.occurred_at == NOW
    [surging] = events(outbox.ACCOUNT_SURGING)
    assert surging.data == {"account_id": account.pk, "topics": ["abm"],
                            "surging_topics": ["abm"]}
    signal(account, "crm", 95, 0, NOW)
    recompute()
    second = events(outbox.ACCOUNT_SURGING)[-1]
    assert second.data["topics"] == ["crm"] and set(second.data["surging_topics"]) == {
        "abm", "crm"}


def test_an_override_writes_a_tier_event_with_who(marketer):
    account = AccountFactory()
    services.account_tier_override(account=fresh(account), tier=tier(3), reason="Freeze",
                                   by=marketer)
    [moved] = events(outbox.ACCOUNT_TIER_CHANGED)
    assert moved.data["new_tier"]["number"] == 3 and moved.data["by"] == marketer.pk

