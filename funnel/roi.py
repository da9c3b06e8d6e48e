"""Campaign ROI and pipeline quota attainment, computed in the database."""

from datetime import date, datetime, time

from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from programs.models import Campaign, ProgramOrder

from . import conf
from .models import Channel, PipelineQuota, Stage, StageTransition
from .reports import _money, _ratio
from .sql import roi as roi_sql

NOT_PLACED = roi_sql.NOT_PLACED


def _month_bounds(month):
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(month.replace(day=1), time.min), tz)
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, timezone.make_aware(datetime.combine(nxt, time.min), tz)


def campaign_roi(*, campaigns):
    """{campaign id: ROI figures} for the given campaigns, a handful of queries in all."""
    campaigns = list(campaigns)
    ids = [c.pk for c in campaigns]
    if not ids:
        return {}
    stages = list(Stage.objects.all())
    opp = [s for s in stages if s.is_opportunity]
    won = [s for s in stages if s.is_won]
    spent = dict(
        ProgramOrder.objects.filter(item__campaign_id__in=ids,
                                    status=ProgramOrder.Status.FULFILLED)
        .values_list("item__campaign_id").annotate(total=Sum("cost")).values_list(
            "item__campaign_id", "total"))
    placed = dict(
        ProgramOrder.objects.filter(item__campaign_id__in=ids).exclude(status__in=NOT_PLACED)
        .values_list("item__campaign_id").annotate(n=Count("id")).values_list(
            "item__campaign_id", "n"))
    figures = {cid: {"touched": 0, "opportunities": 0, "pipeline": 0, "won": 0,
                     "after": 0, "before": 0} for cid in ids}
    for part, cid, a, b, c in roi_sql.campaign_results(ids, opportunity_stages=opp,
                                                        won_stages=won):
        if part == "touch":
            figures[cid]["touched"] = a
        else:
            figures[cid].update(opportunities=int(a or 0), pipeline=b, won=c)
    days = conf.settings.ABMCRM_FUNNEL_LIFT_WINDOW_DAYS
    for cid, after, before in roi_sql.campaign_lift(ids, days=days):
        figures[cid].update(after=int(after or 0), before=int(before or 0))
    result = {}
    for campaign in campaigns:
        f = figures[campaign.pk]
        cost = _money(campaign.fixed_cost) + _money(spent.get(campaign.pk))
        won_revenue = _money(f["won"])
        after, before = f["after"], f["before"]
        lift = {"events_before": before, "events_after": after, "change": after - before,
                "ratio": _ratio(after, before, 2)}
        result[campaign.pk] = {
            "campaign": campaign.pk, "name": campaign.name, "code": campaign.code,
            "channel": campaign.channel,
            "cost": cost, "fixed_cost": _money(campaign.fixed_cost),
            "order_cost_spent": _money(spent.get(campaign.pk)),
            "orders_placed": placed.get(campaign.pk, 0),
            "accounts_touched": f["touched"],
            "engagement_lift": lift,
            "opportunities": f["opportunities"],
            "pipeline": _money(f["pipeline"]),
            "won_revenue": won_revenue,
            "cost_per_opportunity": _money(cost / f["opportunities"])
            if f["opportunities"] else None,
            "return": _ratio(float(won_revenue), float(cost), 2) if cost else None,
        }
    return result


def quota_attainment(*, month):
    """Each channel's quota for the month, the pipeline created (opportunity amounts of
    the month, attributed to the transition's channel, else its campaign's) and attainment."""
    start, end = _month_bounds(month)
    money = DecimalField(max_digits=16, decimal_places=2)
    pipeline = (
        StageTransition.objects.filter(to_stage__is_opportunity=True, occurred_at__gte=start,
                                       occurred_at__lt=end)
        .annotate(attributed=Coalesce(NullIf("channel", Value("")), "campaign__channel",
                                      Value("")))
        .values("attributed")
        .annotate(amount=Coalesce(Sum("amount"), Value(0), output_field=money),
                  opportunities=Count("id"))
    )
    created = {row["attributed"]: row for row in pipeline}
    quotas = {q.channel: q for q in PipelineQuota.objects.filter(month=start.date())}
    labels = dict(Channel.choices)
    channels = [c for c in Channel.values if c in quotas or c in created]
    if "" in created:
        channels.append("")
    rows, total_quota, total_pipeline = [], 0, 0
    for channel in channels:
        quota = quotas.get(channel)
        amount = _money(created.get(channel, {}).get("amount"))
        rows.append({
            "channel": channel or None, "label": labels.get(channel, "Unattributed"),
            "quota_id": quota.pk if quota else None,
            "quota": _money(quota.amount) if quota else None,
            "pipeline_created": amount,
            "opportunities": created.get(channel, {}).get("opportunities", 0),
            "attainment": _ratio(float(amount), float(quota.amount)) if quota and quota.amount
            else None,
        })
        total_quota += quota.amount if quota else 0
        total_pipeline += amount
    return {
        "month": f"{start:%Y-%m}",
        "channels": rows,
        "total": {"quota": _money(total_quota), "pipeline_created": _money(total_pipeline),
                  "attainment": _ratio(float(total_pipeline), float(total_quota))
                  if total_quota else None},
    }


def campaigns_for_roi():
    return Campaign.objects.order_by("name")



