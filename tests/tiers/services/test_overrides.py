"""Tiers set by hand, locked and unlocked (tiers/services/overrides.py)."""

import pytest

from abmcrm.core.exceptions import Conflict, InvalidInput
from tests.factories import AccountFactory, tier
from tests.tiers.scoring_helpers import fresh, goldilocks, icp, recompute
from tiers import services
from tiers.models import Account

pytestmark = pytest.mark.django_db



class TestOverrideAndLock:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_override_locks_against_recompute_and_unlock_returns_to_rules(self, marketer):
        account = goldilocks(80_000, intent=True, engagement=True)
        recompute()
        assignment = services.account_tier_override(account=fresh(account), tier=tier(3),
                                                    reason="Budget freeze", by=marketer)
        assert (assignment.old_tier, assignment.new_tier, assignment.by) == (tier(1), tier(3),
                                                                             marketer)
        assert assignment.cause == "override" and assignment.reason == "Budget freeze"
        recompute()
        account = fresh(account)
        assert account.tier == tier(3) and account.tier_locked and account.tier_rule is None
        services.account_tier_unlock(account=account, by=marketer)
        account = fresh(account)
        assert account.tier == tier(1) and not account.tier_locked
        assert [a.cause for a in account.tier_assignments.all()] == ["rules", "override",
                                                                     "rules"]

    def test_override_needs_a_reason(self, marketer):
        account = AccountFactory()
        with pytest.raises(InvalidInput):
            services.account_tier_override(account=account, tier=tier(1), reason=" ",
                                           by=marketer)

    def test_stale_override_conflicts(self, marketer):
        account = AccountFactory()
        stale = Account.objects.get(pk=account.pk)
        services.account_tier_override(account=account, tier=tier(1), reason="a", by=marketer)
        with pytest.raises(Conflict):
            services.account_tier_override(account=stale, tier=tier(2), reason="b",
                                           by=marketer)

    def test_unlocking_an_unlocked_account_conflicts(self, marketer):
        with pytest.raises(Conflict):
            services.account_tier_unlock(account=AccountFactory(), by=marketer)
