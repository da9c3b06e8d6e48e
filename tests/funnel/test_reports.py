"""The dual-funnel report on a small funnel computed by hand.

ABM (January 2025, day n = Jan n at noon):
  a1 target 1 → engaged 3 → qualified 6 → sql 10 → opportunity 20 (1000) → won 30 (5000)
  a2 target 2 → engaged 4 → sql 8 (skips qualified) → lost 12           (lost at sql)
  a3 target 5 → lost 7                                                  (lost at target)
  a4 target 3 → engaged 9 → lost 11 → reopen engaged 15 → qualified 18  (not lost now)
  a5 target Feb 4                                                       (outside January)
Demand gen (leads enter inquiry when created):
  l1 inquiry 1 → mql 2 → sql 5 → opportunity 10 (200) → won 20 (300)
  l2 inquiry 2 → lost 4                                                 (lost at inquiry)
  l3 inquiry 3 → mql 5 → lost 9                                         (lost at mql)
  l4 inquiry 4 → opportunity 6 (skips mql, sql; 100) → lost 16          (lost at opportunity)
"""

from decimal import Decimal

import pytest

from tests.funnel.helpers import build_hand_funnel, jan, reached, report

pytestmark = pytest.mark.django_db


def col(rep, side, key):
    return [row[key] for row in rep["sides"][side]]


@pytest.fixture
def hand():
    return build_hand_funnel()


class TestCohort:
    def test_abm_side(self, hand):
        rep = report(jan(1), jan(31))
        assert col(rep, "abm", "stage") == ["target", "engaged", "qualified", "sql",
                                            "opportunity", "won"]
        assert reached(rep, "abm") == [4, 3, 3, 2, 1, 1]
        assert col(rep, "abm", "conversion_to_next") == [0.75, 1.0, 0.6667, 0.5, 1.0, None]
        assert col(rep, "abm", "median_days_to_next") == [2.0, 4.0, 2.0, 10.0, 10.0, None]
        assert col(rep, "abm", "p90_days_to_next") == [5.2, 8.0, 3.6, 10.0, 10.0, None]
        assert col(rep, "abm", "lost") == [1, 0, 0, 1, 0, 0]

    def test_demand_gen_side(self, hand):
        rep = report(jan(1), jan(31))
        assert col(rep, "demand_gen", "stage") == ["inquiry", "mql", "sql", "opportunity",
                                                   "won"]
        assert reached(rep, "demand_gen") == [4, 3, 2, 2, 1]
        assert col(rep, "demand_gen", "conversion_to_next") == [0.75, 0.6667, 1.0, 0.5, None]
        assert col(rep, "demand_gen", "median_days_to_next") == [2.0, 1.5, 2.5, 10.0, None]
        assert col(rep, "demand_gen", "p90_days_to_next") == [2.0, 2.7, 4.5, 10.0, None]
        assert col(rep, "demand_gen", "lost") == [1, 1, 0, 1, 0]

    def test_summary(self, hand):
        summary = report(jan(1), jan(31))["summary"]
        assert summary["abm"] == {
            "entered": 4, "entities_worked": 3, "worked_from_stage": "engaged",
            "won_deals": 1, "won_revenue": Decimal("5000.00"),
            "average_deal_size": Decimal("5000.00"), "worked_per_won_deal": 3.0,
            "worked_per_won_revenue": 0.0006,
        }
        assert summary["demand_gen"]["won_revenue"] == Decimal("300.00")
        assert summary["demand_gen"]["entities_worked"] == 3
        assert summary["demand_gen"]["worked_per_won_deal"] == 3.0

    def test_february_cohort_is_only_a5(self, hand):
        rep = report(jan(1).replace(month=2), jan(28).replace(month=2))
        assert reached(rep, "abm") == [1, 0, 0, 0, 0, 0]
        assert reached(rep, "demand_gen") == [0, 0, 0, 0, 0]
        assert col(rep, "abm", "conversion_to_next")[1] is None

    def test_group_by_channel(self, hand):
        rep = report(jan(1), jan(31), group_by="channel")
        groups = {g["key"]: g for g in rep["groups"]}
        assert set(groups) == {"events", "outbound", "website", "syndication"}
        assert groups["events"]["label"] == "Events"
        assert reached(groups["events"], "abm") == [2, 2, 2, 2, 1, 1]
        assert reached(groups["outbound"], "abm") == [2, 1, 1, 0, 0, 0]
        assert reached(groups["website"], "demand_gen") == [2, 1, 1, 1, 1]
        assert reached(groups["syndication"], "demand_gen") == [2, 2, 1, 1, 0]
        assert groups["outbound"]["sides"]["abm"][0]["lost"] == 1
        # The totals are the same as without grouping.
        assert rep["sides"] == report(jan(1), jan(31))["sides"]

    def test_one_side(self, hand):
        rep = report(jan(1), jan(31), side="abm")
        assert list(rep["sides"]) == ["abm"]


class TestPeriod:
    """10–20 January: what happened in those days."""

    def test_abm_side(self, hand):
        rep = report(jan(10), jan(20), mode="period")
        assert reached(rep, "abm") == [0, 0, 1, 1, 1, 0]
        assert col(rep, "abm", "conversion_to_next") == [None, None, 0.0, 1.0, 0.0, None]
        assert col(rep, "abm", "median_days_to_next") == [None, None, None, 10.0, None, None]
        # a4 was lost from engaged on the 11th, a2 from sql on the 12th.
        assert col(rep, "abm", "lost") == [0, 1, 0, 1, 0, 0]
        assert rep["summary"]["abm"]["won_revenue"] == Decimal("0.00")

    def test_demand_gen_side(self, hand):
        rep = report(jan(10), jan(20), mode="period")
        assert reached(rep, "demand_gen") == [0, 0, 0, 1, 1]
        assert col(rep, "demand_gen", "conversion_to_next") == [None, None, None, 1.0, None]
        assert col(rep, "demand_gen", "lost") == [0, 0, 0, 1, 0]
        assert rep["summary"]["demand_gen"]["won_revenue"] == Decimal("300.00")
        assert rep["summary"]["demand_gen"]["average_deal_size"] == Decimal("300.00")

    def test_whole_month_counts_first_reach(self, hand):
        rep = report(jan(1), jan(31), mode="period")
        assert reached(rep, "abm") == [4, 3, 3, 2, 1, 1]
        assert col(rep, "abm", "lost") == [1, 1, 0, 1, 0, 0]  # a4's loss counts in a period

    def test_group_by_month(self, hand):
        rep = report(jan(1), jan(28).replace(month=2), mode="period", group_by="month")
        groups = {g["key"]: g for g in rep["groups"]}
        assert set(groups) == {"2025-01", "2025-02"}
        assert reached(groups["2025-02"], "abm") == [1, 0, 0, 0, 0, 0]
