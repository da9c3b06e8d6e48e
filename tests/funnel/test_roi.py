"""Campaign ROI with engagement events (the tiering issue's EngagementEvent)."""

from datetime import timedelta

import pytest
from django.apps import apps

from funnel import roi
from tests import factories
from tests.funnel.helpers import day, record

pytestmark = pytest.mark.django_db


def event(account, kind, at, source):
    Event = apps.get_model("tiers", "EngagementEvent")
    return Event.objects.create(account=account, kind=kind, occurred_at=at, source=source,
                                dedupe_key=f"{account.pk}-{kind.pk}-{at.isoformat()}-{source}")


def test_touch_by_event_lift_and_attributed_pipeline():
    Kind = apps.get_model("tiers", "EngagementKind")
    demo, _ = Kind.objects.update_or_create(key="demo_request_t",
                                            defaults={"name": "Demo", "weight": 50})
    impression, _ = Kind.objects.update_or_create(key="ad_impression_t",
                                                  defaults={"name": "Imp", "weight": 0})
    campaign = factories.CampaignFactory(code="spring-push", fixed_cost=100)
    account, untouched = factories.AccountFactory(), factories.AccountFactory()
    first_touch = day(10)
    event(account, impression, first_touch, "spring-push")  # touches, but not meaningful
    event(account, demo, first_touch - timedelta(days=5), "website")  # before: 1
    event(account, demo, first_touch + timedelta(days=3), "website")  # after: 2
    event(account, demo, first_touch + timedelta(days=20), "website")
    event(account, demo, first_touch + timedelta(days=45), "website")  # outside 30 days
    event(untouched, demo, first_touch, "website")
    record([
        {"account": account.domain, "to_stage": "target", "occurred_at": day(1).isoformat()},
        {"account": account.domain, "to_stage": "opportunity", "amount": "700",
         "occurred_at": day(5).isoformat()},  # before the first touch: not attributed
        {"account": account.domain, "to_stage": "lost", "occurred_at": day(6).isoformat()},
        {"account": account.domain, "to_stage": "opportunity", "amount": "900",
         "reopen": True, "occurred_at": day(12).isoformat()},
        {"account": account.domain, "to_stage": "won", "amount": "1000",
         "occurred_at": day(20).isoformat()},
        {"account": untouched.domain, "to_stage": "target", "occurred_at": day(1).isoformat()},
        {"account": untouched.domain, "to_stage": "opportunity", "amount": "50",
         "occurred_at": day(11).isoformat()},
    ])
    figures = roi.campaign_roi(campaigns=[campaign])[campaign.pk]
    assert figures["accounts_touched"] == 1
    assert figures["engagement_lift"] == {"events_before": 1, "events_after": 2,
                                          "change": 1, "ratio": 2.0}
    assert figures["opportunities"] == 1 and str(figures["pipeline"]) == "900.00"
    assert str(figures["won_revenue"]) == "1000.00" and figures["return"] == 10.0
