"""Campaign ROI: cost against reach, engagement lift and the deals attributed to the
campaign, by attribution model and period."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pipeline import attribution
from tests import factories
from tests.pipeline.helpers import day, deal, event, move, order

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def spring():
    """Campaign Spring (fixed cost 100, an item of 250): an order fulfilled for account T on
    day 10 (its first touch), events before and after; T's deal (900) opens on day 12 after
    another campaign's touch on day 11, and is won; U, never touched by Spring, has a deal."""
    campaign = factories.CampaignFactory(name="Spring", code="spring-push", fixed_cost=100,
                                         start_date=date(2025, 1, 1),
                                         end_date=date(2025, 3, 31))
    other = factories.CampaignFactory(name="Other", code="other")
    touched, untouched = factories.AccountFactory(), factories.AccountFactory()
    placed = order(touched, campaign, day(10), status="fulfilled")
    placed.cost = 250
    placed.save(update_fields=["cost"])
    order(untouched, campaign, day(10), status="rejected")
    event(touched, day(10) - timedelta(days=5), "website")  # before: 1
    event(touched, day(13), "website")  # after: 2
    event(touched, day(30), "website")
    event(touched, day(10) + timedelta(days=45), "website")  # outside 30 days
    event(touched, day(11), "other", key="ad_click_t")
    d = deal(touched, "proposal", 12, amount=D(900))
    move(d, "won", 20, amount=D(1000))
    deal(untouched, "proposal", 11, amount=D(50))
    return {"campaign": campaign, "other": other, "touched": touched}


def test_cost_reach_lift_and_attributed_deals(spring):
    campaign = spring["campaign"]
    linear = attribution.campaign_roi(campaigns=[campaign], model="linear")[campaign.pk]
    assert linear["cost"] == D("350.00") and linear["order_cost_spent"] == D("250.00")
    assert linear["orders_placed"] == 1 and linear["accounts_touched"] == 1
    assert linear["engagement_lift"] == {"events_before": 1, "events_after": 3,
                                         "change": 2, "ratio": 3.0}
    # Two touches (Spring, then Other): half the won deal under the linear model.
    assert linear["opportunities"] == 0.5
    assert linear["pipeline"] == D("500.00") and linear["won_revenue"] == D("500.00")
    assert linear["cost_per_opportunity"] == D("700.00") and linear["return"] == 1.43
    first = attribution.campaign_roi(campaigns=[campaign], model="first")[campaign.pk]
    assert first["won_revenue"] == D("1000.00") and first["opportunities"] == 1.0
    last = attribution.campaign_roi(campaigns=[campaign], model="last")[campaign.pk]
    assert last["won_revenue"] == D("0.00") and last["return"] == 0.0


def test_a_period_counts_what_happened_in_it(spring):
    campaign = spring["campaign"]
    april = attribution.campaign_roi(campaigns=[campaign], model="first",
                                     start=date(2025, 4, 1), end=date(2025, 4, 30))[campaign.pk]
    # The campaign ran January to March: no fixed cost, no order, no touch, no deal in April.
    assert april["cost"] == D("0.00") and april["accounts_touched"] == 0
    assert april["opportunities"] == 0 and april["won_revenue"] == D("0.00")
    january = attribution.campaign_roi(campaigns=[campaign], model="first",
                                       start=date(2025, 1, 1),
                                       end=date(2025, 1, 31))[campaign.pk]
    assert january["cost"] == D("350.00") and january["won_revenue"] == D("1000.00")


def test_api(api, rep, spring):
    campaign = spring["campaign"]
    data = api.as_user(rep).get(f"/api/v1/campaigns/{campaign.pk}/roi/",
                                {"model": "first"}).json()
    assert data["model"] == "first" and data["cost"] == "350.00"
    assert data["won_revenue"] == "1000.00"
    assert data["end"] == date.today().isoformat()  # no dates: the last ten years
    data = api.as_user(rep).get(f"/api/v1/campaigns/{campaign.pk}/roi/").json()
    assert data["model"] == "linear"  # ABMCRM_ATTRIBUTION_DEFAULT_MODEL
    data = api.as_user(rep).get(f"/api/v1/campaigns/{campaign.pk}/roi/",
                                {"start": "2025-04-01", "end": "2025-04-30"}).json()
    assert data["start"] == "2025-04-01" and data["cost"] == "0.00"


def test_periods_longer_than_ten_years_are_refused(api, rep):
    campaign = factories.CampaignFactory()
    long = {"start": "2000-01-01", "end": "2025-01-01"}
    assert api.as_user(rep).get(f"/api/v1/campaigns/{campaign.pk}/roi/", long
                                ).status_code == 400
    assert api.as_user(rep).get("/api/v1/campaigns/attribution/", long).status_code == 400


def test_roles(api, nobody):
    campaign = factories.CampaignFactory()
    assert api.as_user(nobody).get(f"/api/v1/campaigns/{campaign.pk}/roi/").status_code == 403
