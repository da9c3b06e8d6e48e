"""Multi-touch attribution of the deals opened in a period, and the campaign ROI built on it,
computed in the database (`sql.attribution`): one statement, one row per campaign back.

Models (docs/apps/pipeline.md): `first`, `last`, `linear`, `u_shaped` (40/20/40: first and
last 40% each, 20% spread over the middle; two touches 50/50), `w_shaped` (30% each to the
first touch, the lead-creation touch — the last touch at or before the account's latest lead
creation or move to engaged before the deal — and the deal-opening touch, the last; 10%
spread over the rest) and `time_decay` (a touch's weight halves every
ABMCRM_ATTRIBUTION_HALF_LIFE_DAYS before the deal opened). Per deal the weights sum to 1, and
its amount is split to the cent without loss: per model, the campaigns' attributed pipeline
plus the unattributed pipeline is the period's pipeline, exactly."""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import DatabaseError
from django.db.models import Count, Sum
from django.utils import timezone

from funnel import conf as funnel_conf
from funnel import selectors as funnel_selectors
from funnel.models import Stage
from programs.models import Campaign, ProgramOrder

from . import conf
from .reports import day_bounds, money, ratio
from .services import deal_touches
from .sql import attribution as attribution_sql
from .sql import deal_touches as deal_touches_sql
from .sql.common import subquery

logger = logging.getLogger(__name__)

MODELS = attribution_sql.MODELS
# The longest period attribution covers: ten years (the time-decay weights of an account's
# touches are computed across its timeline, whose span must stay within a double's range).
MAX_PERIOD_DAYS = 3660
# Reads of the deal touch table that may find deals still queued by a bulk load before
# attribution computes from the touches instead.
PENDING_TRIES = 3


@dataclass
class AttributionQuery:
    start: date
    end: date
    model: str
    deals: object = None  # a queryset of Opportunity a filter selects (None: all)


def _middle_stage_ids():
    """The ABM stages whose reaching marks the W-shaped middle key: the handoff (engaged)."""
    return [s.pk for s in funnel_selectors.side_path(Stage.Side.ABM) if s.is_handoff]


def _rows(*, model, start, end, deals=None, campaign_ids=None):
    if model in deal_touches_sql.WEIGHTS and deal_touches.readable():
        rows = _table_rows(model=model, start=start, end=end, deals=deals,
                           campaign_ids=campaign_ids)
        if rows is not None:
            return rows
    return attribution_sql.attribution_rows(
        model=model, start=start, end=end,
        lookback_days=conf.settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS,
        half_life_days=conf.settings.ABMCRM_ATTRIBUTION_HALF_LIFE_DAYS,
        middle_stage_ids=_middle_stage_ids(),
        deal_filter=subquery(deals) if deals is not None else None,
        campaign_ids=campaign_ids)


def _table_rows(*, model, start, end, deals=None, campaign_ids=None):
    """The same rows from the per-deal touch table (`DealTouch`, kept by every write)."""
    accounts = None
    if campaign_ids is not None:
        # The accounts these campaigns touched in the period's reach, as the per-request
        # statement selects them.
        low = start - timedelta(days=int(conf.settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS) + 1)
        accounts = attribution_sql.touched_accounts_sql(low=low, high=end,
                                                        campaign_ids=campaign_ids)
    sql = deal_touches_sql.read_sql(
        model=model, start=start, end=end,
        deal_filter=subquery(deals) if deals is not None else None,
        deal_accounts=accounts)
    for _ in range(PENDING_TRIES):
        rows = sql.run()
        if not any(kind == "p" and n for kind, _, n, _, _ in rows):
            return [row for row in rows if row[0] != "p"]
        # Deals of the period a bulk load queued, whose task has not run yet: computed now,
        # and read again (the count comes from the read's own snapshot, so a load that
        # commits between the two is seen).
        try:
            deal_touches.deal_touches_refresh_pending(opened_between=(start, end))
        except DatabaseError:
            # A deal deleted while it was computed (its chunk rolled back): the answer
            # comes from the touches instead, and the task computes the rest.
            logger.warning("attribution: the queued deal touches could not be computed now",
                           exc_info=True)
            return None
    return None  # loads keep landing in the period: computed from the touches instead


def _deals(value):
    return round(float(value or 0), 4)


def apportion(total, shares):
    """`shares` ({key: exact float}) rounded to the cent so that they add up to `total` (a
    Decimal of cents) exactly: each gets its floor, and the cents left go one by one to the
    largest remainders (ties by key). The floats' last-digit noise cannot move a cent: the
    remainders are compared to a millionth of a cent, so that two exact halves (30.075 and
    10.025) are a tie whatever order the weights were summed in."""
    cents = {key: max(0.0, float(value or 0)) * 100 for key, value in shares.items()}
    floors = {key: int(value + 1e-6) for key, value in cents.items()}
    left = int((total * 100).to_integral_value()) - sum(floors.values())
    order = sorted(cents, key=lambda key: (-round(cents[key] - floors[key], 6), str(key)))
    for key in order[:max(left, 0)]:
        floors[key] += 1
    for key in [k for k in reversed(order) if floors[k] > 0][:max(-left, 0)]:
        floors[key] -= 1  # (only when the floats overshoot by a cent)
    return {key: money(Decimal(value) / 100) for key, value in floors.items()}


def _attributed(rows):
    """The statement's rows → ({campaign id: (deals, pipeline, won revenue)} rounded so
    that they add up exactly, unattributed (deals, pipeline, won), total (…))."""
    campaigns, unattributed, total = {}, (0, 0, 0), (0, 0, 0)
    for kind, cid, deals, pipeline, won in rows:
        # A campaign whose touches got no weight (outside every deal's window, or not a key
        # touch of the model) is not listed.
        if kind == "c" and float(deals or 0) > 1e-9:
            campaigns[cid] = (deals, pipeline, won)
        elif kind == "u":
            unattributed = (int(deals or 0), money(pipeline), money(won))
        else:
            total = (int(deals or 0), money(pipeline), money(won))
    pipeline = apportion(total[1] - unattributed[1], {c: v[1] for c, v in campaigns.items()})
    won = apportion(total[2] - unattributed[2], {c: v[2] for c, v in campaigns.items()})
    out = {cid: (_deals(values[0]), pipeline[cid], won[cid])
           for cid, values in campaigns.items()}
    return out, unattributed, total


def attribution(query):
    """{model, start, end, lookback_days, deals, total_pipeline, total_won_revenue,
    campaigns: [{campaign, name, code, channel, attributed_deals, attributed_pipeline,
    attributed_won_revenue}], unattributed: {deals, pipeline, won_revenue}}: the campaigns
    credited under the model, by attributed pipeline, largest first."""
    start, end = day_bounds(query.start, query.end)
    campaigns, unattributed, total = _attributed(
        _rows(model=query.model, start=start, end=end, deals=query.deals))
    names = {c.pk: c for c in Campaign.objects.filter(pk__in=list(campaigns))}
    out = []
    for cid, (deals, pipeline, won) in campaigns.items():
        campaign = names.get(cid)
        out.append({"campaign": cid, "name": campaign.name if campaign else None,
                    "code": campaign.code if campaign else None,
                    "channel": campaign.channel if campaign else None,
                    "attributed_deals": deals, "attributed_pipeline": pipeline,
                    "attributed_won_revenue": won})
    out.sort(key=lambda row: (-row["attributed_pipeline"], (row["name"] or "").lower()))
    return {
        "model": query.model, "start": query.start.isoformat(), "end": query.end.isoformat(),
        "lookback_days": conf.settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS,
        "deals": total[0], "total_pipeline": total[1], "total_won_revenue": total[2],
        "campaigns": out,
        "unattributed": {"deals": unattributed[0], "pipeline": unattributed[1],
                         "won_revenue": unattributed[2]},
    }


# Campaign ROI ------------------------------------------------------------------------------

def default_period():
    """The ROI's period when none is given: the longest attribution covers, to today."""
    end = timezone.localdate()
    return end - timedelta(days=MAX_PERIOD_DAYS - 1), end


def _runs_in(campaign, start, end):
    """Whether the campaign's dates overlap [start, end] (undated campaigns always do)."""
    return ((campaign.start_date is None or campaign.start_date <= end)
            and (campaign.end_date is None or campaign.end_date >= start))


def campaign_roi(*, campaigns, model=None, start=None, end=None):
    """{campaign id: ROI figures} over [start, end] (dates; None: `default_period`) under the
    attribution `model`: cost (the fixed cost of a campaign running in the period and the
    cost of its orders fulfilled then) against the accounts it touched, the engagement lift
    after its first touch, and the deals, pipeline and won revenue attributed to it. A
    handful of queries in all."""
    campaigns = list(campaigns)
    ids = [c.pk for c in campaigns]
    if not ids:
        return {}
    model = model or conf.settings.ABMCRM_ATTRIBUTION_DEFAULT_MODEL
    if start is None:
        start, end = default_period()
    low, high = day_bounds(start, end)
    orders = ProgramOrder.objects.filter(item__campaign_id__in=ids, created_at__gte=low,
                                         created_at__lt=high)
    spent = dict(orders.filter(status=ProgramOrder.Status.FULFILLED).values_list(
        "item__campaign_id").annotate(total=Sum("cost")).values_list("item__campaign_id",
                                                                      "total"))
    placed = dict(orders.exclude(status__in=attribution_sql.NOT_PLACED).values_list(
        "item__campaign_id").annotate(n=Count("id")).values_list("item__campaign_id", "n"))
    reach = {cid: (touched, after, before) for cid, touched, after, before in
             attribution_sql.reach_rows(campaign_ids=ids, start=low, end=high,
                                        lift_days=funnel_conf.settings.ABMCRM_FUNNEL_LIFT_WINDOW_DAYS)}
    attributed = _attributed(_rows(model=model, start=low, end=high, campaign_ids=ids))[0]
    result = {}
    for campaign in campaigns:
        fixed = money(campaign.fixed_cost) if _runs_in(campaign, start, end) else money(0)
        cost = fixed + money(spent.get(campaign.pk))
        touched, after, before = reach.get(campaign.pk, (0, 0, 0))
        after, before = int(after or 0), int(before or 0)
        deals, pipeline, won_revenue = attributed.get(campaign.pk, (0.0, money(0), money(0)))
        result[campaign.pk] = {
            "campaign": campaign.pk, "name": campaign.name, "code": campaign.code,
            "channel": campaign.channel, "model": model,
            "start": start.isoformat(), "end": end.isoformat(),
            "cost": cost, "fixed_cost": fixed, "order_cost_spent": money(spent.get(campaign.pk)),
            "orders_placed": placed.get(campaign.pk, 0),
            "accounts_touched": int(touched or 0),
            "engagement_lift": {"events_before": before, "events_after": after,
                                "change": after - before, "ratio": ratio(after, before, 2)},
            "opportunities": deals, "pipeline": pipeline, "won_revenue": won_revenue,
            "cost_per_opportunity": money(cost / Decimal(str(deals))) if deals else None,
            "return": ratio(float(won_revenue), float(cost), 2) if cost else None,
        }
    return result


def campaigns_for_roi():
    return Campaign.objects.order_by("name")
