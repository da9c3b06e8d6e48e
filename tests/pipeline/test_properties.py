"""Properties of the reports and attribution over random books of deals and touches
(Hypothesis): conservation per attribution model, group sums equal to the totals, win rates
within [0, 1]."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.models import AccountFunnel, StageTransition
from pipeline import attribution, reports
from pipeline.models import Opportunity
from programs.models import Campaign
from tests import factories
from tests.pipeline.helpers import bulk, day, event
from tiers.models import Account, EngagementEvent

pytestmark = pytest.mark.django_db

OPEN = ["prospecting", "qualification", "proposal", "negotiation"]
FIGURES = ("opened", "pipeline", "won", "lost", "won_revenue", "open", "open_amount",
           "weighted_open")

# One deal: its account, opening day, amount in cents (or none), fate (an open stage, won
# or lost some days later), owner and product.
deal_ = st.tuples(
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=80),
    st.one_of(st.none(), st.integers(min_value=0, max_value=5_000_000)),
    st.sampled_from([*OPEN, "won", "lost"]),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["A", "B", ""]),
)
# One touch: account, campaign, day (ties happen), carried by an engagement event.
touch = st.tuples(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=2),
                  st.integers(min_value=-200, max_value=80))

hsettings = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


def _build(deals, touches):
    Opportunity.objects.all().delete()
    StageTransition.objects.all().delete()
    AccountFunnel.objects.all().delete()
    EngagementEvent.objects.all().delete()
    Account.objects.all().delete()
    Campaign.objects.all().delete()
    accounts = [factories.AccountFactory(domain=f"h{n}.example.com") for n in range(4)]
    campaigns = [factories.CampaignFactory(code=f"h{n}") for n in range(3)]
    owners = [None, *(factories.RepFactory(username=f"h{n}") for n in range(2))]
    seen = set()
    for account, campaign, at in touches:
        if (account, campaign, at) not in seen:  # one event per moment (its dedupe key)
            seen.add((account, campaign, at))
            event(accounts[account], day(at), campaigns[campaign].code)
    items = []
    for n, (account, opened, cents, fate, after, owner, product) in enumerate(deals):
        amount = None if cents is None else str(Decimal(cents) / 100)
        if fate == "won" and amount is None:
            amount = "1.00"
        item = {"external_id": f"h-{n}", "account": accounts[account].domain, "stage": fate,
                "opened_at": day(opened).isoformat(), "amount": amount, "product": product,
                "owner": owners[owner].username if owners[owner] else None}
        if fate in ("won", "lost"):
            item["closed_at"] = day(opened + after).isoformat()
        items.append(item)
    result = bulk(items)
    assert not result.errors, result.errors


@hsettings
@given(deals=st.lists(deal_, max_size=12), touches=st.lists(touch, max_size=15))
def test_attribution_conserves_the_pipeline_under_every_model(deals, touches):
    _build(deals, touches)
    for model in attribution.MODELS:
        result = attribution.attribution(attribution.AttributionQuery(
            start=date(2025, 1, 1), end=date(2025, 6, 30), model=model))
        campaigns = result["campaigns"]
        assert all(row["attributed_pipeline"] >= 0 for row in campaigns), (model, campaigns)
        assert sum(row["attributed_pipeline"] for row in campaigns) + \
            result["unattributed"]["pipeline"] == result["total_pipeline"], model
        assert sum(row["attributed_won_revenue"] for row in campaigns) + \
            result["unattributed"]["won_revenue"] == result["total_won_revenue"], model
        assert sum(row["attributed_deals"] for row in campaigns) + \
            result["unattributed"]["deals"] == pytest.approx(result["deals"], abs=1e-3)
        assert result["deals"] == len(deals)


@hsettings
@given(deals=st.lists(deal_, max_size=12), end=st.integers(min_value=10, max_value=130))
def test_groups_add_up_to_the_totals_and_win_rates_are_rates(deals, end):
    _build(deals, [])
    start, stop = date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=end)
    for group_by in (None, *reports.GROUP_BYS):
        report = reports.pipeline_report(reports.ReportQuery(start=start, end=stop,
                                                             group_by=group_by))
        totals = report["totals"]
        for row in [totals, *report["groups"]]:
            assert row["win_rate"] is None or 0 <= row["win_rate"] <= 1
            assert row["weighted_open"] <= row["open_amount"]
        if group_by:
            for figure in FIGURES:
                assert sum(g[figure] for g in report["groups"]) == totals[figure], \
                    (group_by, figure)
    forecast = reports.forecast(months=4, group_by="owner")
    for field in ("open_deals", "amount", "weighted_amount", "commit"):
        assert sum(g["totals"][field] for g in forecast["groups"]) == forecast["totals"][field]
