"""The loaded demo tells the ABM story (docs/guide/demo.md), read through the reports' APIs
as a marketer would: tier 1 converts best and has the largest deals, the ABM side converts
better from SQL on than demand generation and works several times fewer accounts per won
deal, events and the website return more than syndication, and win rates are plausible.

One test: loading the demo (all 8,800 deals) takes a while, so it is loaded once."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from programs.models import Campaign
from tests import factories

pytestmark = pytest.mark.django_db


def _stages(rows):
    return {row["stage"]: row for row in rows}


def _get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_the_demo_tells_the_abm_story(client):
    call_command("load_demo", verbosity=0)
    client.force_login(factories.MarketerFactory())
    today = timezone.localdate()
    # The whole story: the data set's year and the journeys before it, shifted to today.
    period = {"start": (today - timedelta(days=3 * 365)).isoformat(), "end": today.isoformat()}

    funnel = _get(client, "/api/v1/funnel/report/", **period)
    abm, dg = (_stages(funnel["sides"][side]) for side in ("abm", "demand_gen"))
    # Lower volume on the ABM side, but better conversion from SQL on.
    assert abm["target"]["reached"] * 5 < dg["inquiry"]["reached"]
    for stage in ("sql", "opportunity"):
        assert abm[stage]["conversion_to_next"] > dg[stage]["conversion_to_next"]
    # Won from opportunity: between 15 % and 40 % on both sides.
    for side in (abm, dg):
        assert 0.15 <= side["opportunity"]["conversion_to_next"] <= 0.40
    # Accounts worked per won deal: several times fewer than the leads worked.
    summary = funnel["summary"]
    assert summary["abm"]["worked_per_won_deal"] * 3 < summary["demand_gen"]["worked_per_won_deal"]

    by_tier = _get(client, "/api/v1/funnel/report/", side="abm", group_by="tier", **period)
    engaged_to_opportunity = {}
    for group in by_tier["groups"]:
        stages = _stages(group["sides"]["abm"])
        if group["key"] is not None:
            engaged_to_opportunity[group["label"]] = (stages["opportunity"]["reached"]
                                                      / stages["engaged"]["reached"])
    tier1 = next(label for label in engaged_to_opportunity if label.startswith("Tier 1"))
    assert len(engaged_to_opportunity) == 3
    assert engaged_to_opportunity[tier1] == max(engaged_to_opportunity.values())
    assert all(engaged_to_opportunity[tier1] > rate + 0.1
               for label, rate in engaged_to_opportunity.items() if label != tier1)

    deals = {group_by: _get(client, "/api/v1/opportunities/report/", group_by=group_by,
                            **period)
             for group_by in ("tier", "side", "channel")}
    assert deals["tier"]["totals"]["opened"] == 8800
    assert 0.15 <= deals["tier"]["totals"]["win_rate"] <= 0.40
    tiers = {group["label"]: group for group in deals["tier"]["groups"]}
    assert set(tiers) >= {tier1, "Untiered"} and len(tiers) == 4
    for group in tiers.values():
        assert 0.15 <= group["win_rate"] <= 0.40, group
    # Tier 1 has the largest deals.
    largest = Decimal(tiers[tier1]["average_won_amount"])
    assert all(largest > Decimal(group["average_won_amount"]) * Decimal("1.2")
               for label, group in tiers.items() if label != tier1)
    sides = {group["key"]: group for group in deals["side"]["groups"]}
    assert set(sides) == {"abm", "demand_gen"}
    for group in sides.values():
        assert 0.15 <= group["win_rate"] <= 0.40, group
    assert sides["abm"]["win_rate"] > sides["demand_gen"]["win_rate"]
    channels = {group["key"]: group for group in deals["channel"]["groups"]}
    assert channels["events"]["win_rate"] > channels["syndication"]["win_rate"]
    assert channels["website"]["win_rate"] > channels["syndication"]["win_rate"]

    # Campaign ROI varies by channel: events and the website beat syndication.
    won, cost = defaultdict(Decimal), defaultdict(Decimal)
    for campaign in Campaign.objects.all():
        roi = _get(client, f"/api/v1/campaigns/{campaign.pk}/roi/", **period)
        won[roi["channel"]] += Decimal(roi["won_revenue"])
        cost[roi["channel"]] += Decimal(roi["cost"])
    returns = {channel: won[channel] / cost[channel] for channel in cost if cost[channel]}
    assert returns["events"] > 2 * returns["syndication"]
    assert returns["website"] > 2 * returns["syndication"]
    assert len({round(value, 1) for value in returns.values()}) >= 4
