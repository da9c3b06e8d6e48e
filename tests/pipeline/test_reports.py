"""The pipeline report and the forecast on small cases computed by hand.

The January 2025 book (days count from 1 January 2025, at noon):

| deal | owner | product | amount | history                                      |
|------|-------|---------|--------|----------------------------------------------|
| D1   | r1    | A       | 1000   | opened 2, proposal 5, won 12 (cycle 10 days) |
| D2   | r1    | B       | 500    | opened 3, lost 20                            |
| D3   | r2    | A       | 2000   | opened 10, negotiation 15: open (75%)        |
| D4   | r2    | A       | 300    | opened 20, won 25 (cycle 5)                  |
| D5   | r1    | B       | 800    | opened 22 Dec 2024 (day -9), won 4 (cycle 13)|
| D6   | r2    | B       | 400    | opened 5, prospecting: open (10%)            |
| D7   | r2    | B       | 1000   | opened 40 (February): outside                |
| D8   | r1    | A       | 700    | opened 6, won 8, reopened 9 (qualification), |
|      |       |         |        | won again 40: open at the end of January     |
| D9   | —     | —       | —      | opened 7, prospecting: open, no amount       |

January: opened D1 D2 D3 D4 D6 D8 D9 = 7, pipeline 4,900; won D1 D4 D5 = 3 (D8's win is
in February), lost D2 = 1, win rate 0.75, won revenue 2,100, average 700, median cycle of
(5, 10, 13) = 10; open at the end D3 D6 D8 D9 = 4, open amount 3,100, weighted
1,500 + 40 + 175 + 0 = 1,715 (D8 at qualification, 25%, as its history says).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from pipeline import reports
from pipeline.reports import ReportQuery
from tests import factories
from tests.pipeline.helpers import day, deal, jan, move

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def book():
    r1 = factories.RepFactory(username="r1", first_name="Rita", last_name="One")
    r2 = factories.RepFactory(username="r2")
    account = factories.AccountFactory()
    deals = {}
    deals["D1"] = deal(account, "prospecting", 2, owner=r1, product="A", amount=D(1000))
    move(deals["D1"], "proposal", 5)
    move(deals["D1"], "won", 12)
    deals["D2"] = deal(account, "prospecting", 3, owner=r1, product="B", amount=D(500))
    move(deals["D2"], "lost", 20)
    deals["D3"] = deal(account, "proposal", 10, owner=r2, product="A", amount=D(2000))
    move(deals["D3"], "negotiation", 15)
    deals["D4"] = deal(account, "proposal", 20, owner=r2, product="A", amount=D(300))
    move(deals["D4"], "won", 25)
    deals["D5"] = deal(account, "proposal", -9, owner=r1, product="B", amount=D(800))
    move(deals["D5"], "won", 4)
    deals["D6"] = deal(account, "prospecting", 5, owner=r2, product="B", amount=D(400))
    deals["D7"] = deal(account, "prospecting", 40, owner=r2, product="B", amount=D(1000))
    deals["D8"] = deal(account, "proposal", 6, owner=r1, product="A", amount=D(700))
    move(deals["D8"], "won", 8)
    move(deals["D8"], "qualification", 9, reopen=True)
    move(deals["D8"], "won", 40)
    deals["D9"] = deal(account, "prospecting", 7)
    return {"r1": r1, "r2": r2, "account": account, **deals}


def run(start=None, end=None, group_by=None, deals=None):
    return reports.pipeline_report(ReportQuery(start=start or jan(1), end=end or jan(31),
                                               group_by=group_by, deals=deals))


def figures(opened, pipeline, won, lost, win_rate, revenue, average, median, open_,
            open_amount, weighted):
    return {"opened": opened, "pipeline": D(pipeline), "won": won, "lost": lost,
            "win_rate": win_rate, "won_revenue": D(revenue),
            "average_won_amount": None if average is None else D(average),
            "median_cycle_days": median, "open": open_, "open_amount": D(open_amount),
            "weighted_open": D(weighted)}


class TestPipelineReport:
    def test_totals(self, book):
        report = run()
        assert report["start"] == "2025-01-01" and report["end"] == "2025-01-31"
        assert report["totals"] == figures(7, "4900.00", 3, 1, 0.75, "2100.00", "700.00",
                                           10.0, 4, "3100.00", "1715.00")
        assert report["groups"] == []

    def test_by_owner(self, book):
        groups = {g["key"]: g for g in run(group_by="owner")["groups"]}
        r1, r2 = book["r1"].pk, book["r2"].pk
        assert groups[r1]["label"] == "Rita One" and groups[r2]["label"] == "r2"
        assert groups[None]["label"] == "No owner"
        strip = {k: v for k, v in groups[r1].items() if k not in ("key", "label")}
        assert strip == figures(3, "2200.00", 2, 1, 0.6667, "1800.00", "900.00", 11.5, 1,
                                "700.00", "175.00")
        strip = {k: v for k, v in groups[r2].items() if k not in ("key", "label")}
        assert strip == figures(3, "2700.00", 1, 0, 1.0, "300.00", "300.00", 5.0, 2,
                                "2400.00", "1540.00")
        strip = {k: v for k, v in groups[None].items() if k not in ("key", "label")}
        assert strip == figures(1, "0.00", 0, 0, None, "0.00", None, None, 1, "0.00", "0.00")

    def test_by_product(self, book):
        groups = {g["key"]: g for g in run(group_by="product")["groups"]}
        assert groups["A"]["opened"] == 4 and groups["A"]["won"] == 2  # D1, D4
        assert groups["B"]["won"] == 1 and groups["B"]["lost"] == 1  # D5, D2
        assert groups[""]["label"] == "No product"

    def test_by_month_counts_each_side_in_its_own_month(self, book):
        report = run(start=date(2024, 12, 1), end=jan(31), group_by="month")
        groups = {g["key"]: g for g in report["groups"]}
        assert list(groups) == ["2024-12", "2025-01"]
        assert groups["2024-12"]["opened"] == 1 and groups["2024-12"]["won"] == 0  # D5
        assert groups["2025-01"]["won"] == 3 and groups["2025-01"]["opened"] == 7
        assert report["totals"]["opened"] == 8 and report["totals"]["won"] == 3

    def test_by_tier_and_side(self, book):
        book["account"].tier = factories.tier(2)
        book["account"].save()
        report = run(group_by="tier")
        assert [g["label"] for g in report["groups"]] == [str(factories.tier(2))]
        # The account entered the funnel with its first deal: no deal of it is ABM-sourced.
        sides = {g["key"]: g["opened"] for g in run(group_by="side")["groups"]}
        assert sides == {"demand_gen": 7}

    def test_a_deal_opened_after_its_account_became_a_target_is_abm(self, book):
        from funnel import ingesters

        target = factories.AccountFactory()
        ingesters.transitions_record(items=[{"account": target.domain, "to_stage": "target",
                                             "occurred_at": day(1).isoformat()}], user=None)
        deal(target, "prospecting", 3, amount=D(50))
        lead = factories.LeadFactory(account=target)
        deal(target, "prospecting", 4, amount=D(60), lead=lead)  # a lead brought it
        sides = {g["key"]: (g["opened"], g["pipeline"]) for g in run(group_by="side")["groups"]}
        assert sides == {"abm": (1, D("50.00")), "demand_gen": (8, D("4960.00"))}

    def test_filters_narrow_the_deals(self, book):
        from pipeline import selectors

        report = run(deals=selectors.opportunity_list().filter(owner=book["r2"]))
        assert report["totals"]["opened"] == 3 and report["totals"]["won"] == 1

    def test_an_empty_period(self, book):
        report = run(start=date(2020, 1, 1), end=date(2020, 1, 31))
        assert report["totals"] == figures(0, "0.00", 0, 0, None, "0.00", None, None, 0,
                                           "0.00", "0.00")

    def test_open_at_an_earlier_end_reads_the_history(self, book):
        # At the end of 12 January D1 was just won; D2 (lost on the 20th) was still at
        # prospecting (10% of 500), D3 at proposal (50% of 2,000), D8 won on the 8th and
        # reopened at qualification on the 9th (25% of 700), D6 and D9 at prospecting.
        totals = run(start=jan(1), end=jan(12))["totals"]
        assert totals["open"] == 5
        assert totals["open_amount"] == D("3600.00")
        assert totals["weighted_open"] == D("50.00") + D("1000.00") + D("40.00") + D("175.00")


class TestForecast:
    @pytest.fixture
    def deals(self):
        today = timezone.localdate()
        first = today.replace(day=1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        account = factories.AccountFactory()
        rep = factories.RepFactory(username="f1")
        opened = timezone.now() - timedelta(days=60)
        deal(account, "negotiation", opened, amount=D(1000), close_date=first + timedelta(14),
             owner=rep)
        deal(account, "proposal", opened, amount=D(400), close_date=next_month)
        deal(account, "prospecting", opened, amount=D(100), close_date=next_month)
        deal(account, "qualification", opened, amount=D(200), close_date=first - timedelta(1))
        deal(account, "negotiation", opened, amount=D(300))
        deal(account, "proposal", opened, amount=D(500), close_date=first + timedelta(250))
        deal(account, "won", opened, amount=D(9999), close_date=first, closed_at=timezone.now())
        return {"first": first, "rep": rep}

    def test_by_month(self, deals):
        forecast = reports.forecast(months=6)
        assert forecast["start_month"] == f"{deals['first']:%Y-%m}"
        assert forecast["horizon"] == 6 and forecast["commit_probability"] == 75
        months = forecast["months"]
        assert len(months) == 6
        assert {k: months[0][k] for k in ("open_deals", "amount", "weighted_amount",
                                          "commit")} == {
            "open_deals": 1, "amount": D("1000.00"), "weighted_amount": D("750.00"),
            "commit": D("1000.00")}
        assert (months[1]["open_deals"], months[1]["amount"], months[1]["weighted_amount"],
                months[1]["commit"]) == (2, D("500.00"), D("210.00"), D("0.00"))
        assert all(m["open_deals"] == 0 for m in months[2:])
        assert forecast["totals"] == {"open_deals": 3, "amount": D("1500.00"),
                                      "weighted_amount": D("960.00"), "commit": D("1000.00")}
        assert forecast["overdue"] == {"open_deals": 1, "amount": D("200.00"),
                                       "weighted_amount": D("50.00"), "commit": D("0.00")}
        assert forecast["undated"] == {"open_deals": 1, "amount": D("300.00"),
                                       "weighted_amount": D("225.00"), "commit": D("300.00")}
        assert forecast["later"]["open_deals"] == 1

    def test_grouped_groups_add_up(self, deals):
        forecast = reports.forecast(months=3, group_by="owner")
        keys = {g["key"] for g in forecast["groups"]}
        assert keys == {deals["rep"].pk, None}
        for field in ("open_deals", "amount", "weighted_amount", "commit"):
            assert sum(g["totals"][field] for g in forecast["groups"]) == \
                forecast["totals"][field]

    def test_commit_follows_the_setting(self, deals, settings):
        settings.ABMCRM_COMMIT_PROBABILITY = 50
        forecast = reports.forecast(months=2)
        assert forecast["months"][1]["commit"] == D("400.00")
