"""Tier rules and capacities (tiers/scoring/placement.py)."""
from datetime import timedelta

import pytest

from tests.factories import AccountFactory, tier
from tests.tiers.scoring_helpers import NOW, fresh, goldilocks, icp, recompute
from tiers import services, signals
from tiers.models import TierAssignment, TierRule

pytestmark = pytest.mark.django_db



class TestTierRules:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_default_goldilocks_rules(self):
        t1 = goldilocks(80_000, intent=True, engagement=True)
        t2 = goldilocks(20_000, intent=True, engagement=False)
        t3 = goldilocks(10_000, intent=False, engagement=False)
        low_fit = goldilocks(80_000, intent=True, engagement=True, fit_industry="retail")
        engaged_no_intent = goldilocks(80_000, intent=False, engagement=True)
        result = recompute()
        assert fresh(t1).tier == tier(1)
        assert fresh(t2).tier == tier(2)
        assert fresh(t3).tier == tier(3)
        assert fresh(low_fit).tier is None
        assert fresh(engaged_no_intent).tier is None
        assert result.tier_changes == 3
        assert fresh(t1).tier_rule.priority == 10

    def test_first_matching_rule_wins(self):
        account = goldilocks(80_000, intent=True, engagement=True)
        TierRule.objects.create(name="Everyone engaged to tier 2", tier=tier(2), priority=5,
                                recent_engagement="yes")
        recompute()
        assert fresh(account).tier == tier(2)
        TierRule.objects.filter(priority=5).update(priority=50)
        recompute()
        assert fresh(account).tier == tier(1)

    def test_every_change_writes_history_and_sends_tier_changed(self):
        account = goldilocks(80_000, intent=True, engagement=True)
        received = []

        def receiver(sender, account, old_tier, new_tier, assignment, by, **kwargs):
            received.append((account.pk, old_tier, new_tier, assignment.pk, by))

        signals.tier_changed.connect(receiver)
        try:
            recompute()
            recompute()  # nothing changes: no new row, no signal
            history = list(TierAssignment.objects.filter(account=account))
            assert len(history) == 1
            row = history[0]
            assert (row.old_tier, row.new_tier, row.by, row.cause) == (None, tier(1), None,
                                                                      "rules")
            assert "Rule #10" in row.reason and "fit 100" in row.reason
            assert received == [(account.pk, None, tier(1), row.pk, None)]
        finally:
            signals.tier_changed.disconnect(receiver)

    def test_losing_the_match_untiers(self):
        account = goldilocks(80_000, intent=True, engagement=True)
        recompute()
        later = NOW + timedelta(days=40)  # engagement no longer recent, intent gone
        recompute(now=later)
        account = fresh(account)
        assert account.tier is None
        assert "No tier rule matches" in account.tier_assignments.first().reason

class TestCapacity:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 3), ("country", {"values": ["Germany"]}, 1))

    def test_best_get_the_tier_the_rest_fall_to_the_next_rule(self):
        t1 = tier(1)
        t1.capacity = 2
        t1.save()
        TierRule.objects.create(name="Overflow of tier 1", tier=tier(2), priority=15,
                                min_fit=70, recent_intent="yes", recent_engagement="yes")
        best = goldilocks(60_000, intent=True, engagement=True)
        best.country = "Germany"
        best.save()  # fit 100
        second = goldilocks(90_000, intent=True, engagement=True)  # fit 75, ACV larger
        third = goldilocks(70_000, intent=True, engagement=True)  # fit 75
        result = recompute()
        assert fresh(best).tier == tier(1)
        assert fresh(second).tier == tier(1)
        assert fresh(third).tier == tier(2)
        assert result.overflow == {1: {"capacity": 2, "count": 1, "accounts": [third.pk]}}
        assert "Tier 1 is full" in fresh(third).tier_assignments.first().reason

    def test_locked_accounts_use_up_capacity(self):
        t1 = tier(1)
        t1.capacity = 1
        t1.save()
        locked = AccountFactory()
        services.account_tier_override(account=locked, tier=t1, reason="CEO's pick", by=None)
        candidate = goldilocks(80_000, intent=True, engagement=True)
        result = recompute()
        assert fresh(candidate).tier is None
        assert fresh(locked).tier == t1
        assert result.overflow[1]["accounts"] == [candidate.pk]
