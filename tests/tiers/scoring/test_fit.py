"""ICP fit (tiers/scoring/fit.py): criteria, weights and boundaries."""
from decimal import Decimal

import pytest

from tests.factories import AccountFactory
from tests.tiers.scoring_helpers import NOW, fresh, icp, recompute
from tiers import services

pytestmark = pytest.mark.django_db



class TestFit:
    def test_weighted_share_of_criteria_met(self):
        icp(("industry", {"values": ["Software", "finance"]}, 3),
            ("employees", {"min_value": Decimal(200), "max_value": Decimal(1000)}, 1),
            ("technology", {"values": ["Salesforce"]}, 2),
            ("country", {"values": ["Germany"]}, 2))
        match = AccountFactory(industry="software", employees=1000)  # 3 + 1 of 8
        services.account_set_technologies(account=match, names=["Salesforce"])  # + 2
        miss = AccountFactory(industry="retail", employees=None)
        recompute()
        assert fresh(match).fit_score == 75  # 6 / 8
        assert fresh(miss).fit_score == 0

    def test_rounds_half_up_and_ranges_are_inclusive(self):
        icp(("annual_revenue", {"min_value": Decimal(5_000_000)}, 1),
            ("customer_count", {"max_value": Decimal(100)}, 1),
            ("region", {"values": ["EMEA"]}, 1),
            ("funding_stage", {"values": ["seed"]}, 5))
        account = AccountFactory(annual_revenue=5_000_000, customer_count=100, region="x")
        recompute()
        assert fresh(account).fit_score == 25  # 2 / 8 = 25

    def test_explanation_lists_met_and_unmet(self):
        icp(("industry", {"values": ["software"]}, 1),
            ("technology", {"values": ["SAP ERP"]}, 1))
        account = AccountFactory(industry="software")
        recompute()
        from tiers.selectors import account_scores

        fit = account_scores(account=fresh(account), now=NOW)["explanation"]["fit"]
        assert [(c["attribute"], c["matched"]) for c in fit["criteria"]] == [
            ("industry", True), ("technology", False)]
        assert fit["score"] == fresh(account).fit_score == 50

    def test_no_active_profile_means_fit_zero(self):
        account = AccountFactory(fit_score=50)
        recompute()
        assert fresh(account).fit_score == 0
