"""Campaign ROI and pipeline quota attainment, computed in the database."""

from datetime import date, datetime, time

from django.apps import apps
from django.db import connection
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from programs.models import Campaign, ProgramOrder

from . import conf
from .models import Channel, PipelineQuota, Stage, StageTransition
from .reports import _money, _ratio

NOT_PLACED = (ProgramOrder.Status.REJECTED, ProgramOrder.Status.CANCELLED)


def engagement_event_model():
    """The tiers app's EngagementEvent, once the tiering issue has landed; else None."""
    try:
        return apps.get_model("tiers", "EngagementEvent")
    except LookupError:
        return None


def _month_bounds(month):
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(month.replace(day=1), time.min), tz)
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, timezone.make_aware(datetime.combine(nxt, time.min), tz)


def _ids(stages):
    return ", ".join(str(s.pk) for s in stages) or "NULL"


def _touch_sql(campaign_ids):
    """First touch of each (campaign, account): orders placed and, when the model exists,
    engagement events carrying the campaign's code."""
    only = f"AND i.campaign_id IN ({', '.join(map(str, campaign_ids))})" if campaign_ids else ""
    not_placed = ", ".join(f"'{s}'" for s in NOT_PLACED)
    parts = [
        "SELECT i.campaign_id AS cid, o.account_id AS aid, MIN(o.created_at) AS first_at "
        "FROM programs_programorder o JOIN programs_programitem i ON i.id = o.item_id "
        f"WHERE o.status NOT IN ({not_placed}) {only} GROUP BY i.campaign_id, o.account_id"
    ]
    event = engagement_event_model()
    if event is not None:
        only_c = f"AND c.id IN ({', '.join(map(str, campaign_ids))})" if campaign_ids else ""
        parts.append(
            "SELECT c.id AS cid, ev.account_id AS aid, MIN(ev.occurred_at) AS first_at "
            f"FROM {event._meta.db_table} ev JOIN programs_campaign c ON c.code = ev.source "
            f"WHERE 1 = 1 {only_c} GROUP BY c.id, ev.account_id")
    return ("SELECT cid, aid, MIN(first_at) AS first_at FROM ("
            + " UNION ALL ".join(parts) + ") touches GROUP BY cid, aid")


def _lift_sql(event, days):
    """Meaningful events of touched accounts in the `days` after / before the first touch."""
    join, meaningful = _meaningful_kinds_sql(event)
    if connection.vendor == "postgresql":
        after = (f"ev.occurred_at >= ft.first_at AND ev.occurred_at < ft.first_at + "
                 f"interval '{int(days)} days'")
        before = (f"ev.occurred_at < ft.first_at AND ev.occurred_at >= ft.first_at - "
                  f"interval '{int(days)} days'")
    else:
        after = ("julianday(ev.occurred_at) >= julianday(ft.first_at) AND "
                 f"julianday(ev.occurred_at) < julianday(ft.first_at) + {int(days)}")
        before = ("julianday(ev.occurred_at) < julianday(ft.first_at) AND "
                  f"julianday(ev.occurred_at) >= julianday(ft.first_at) - {int(days)}")
    return (
        "SELECT ft.cid, SUM(CASE WHEN " + after + " THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN " + before + " THEN 1 ELSE 0 END) "
        f"FROM ft JOIN {event._meta.db_table} ev ON ev.account_id = ft.aid {join} "
        f"WHERE {meaningful} GROUP BY ft.cid"
    )


def _meaningful_kinds_sql(event):
    """(join, condition) keeping meaningful events: kinds whose weight is above 0."""
    kind = event._meta.get_field("kind")
    if kind.is_relation:
        table = kind.related_model._meta.db_table
        return (f"JOIN {table} k ON k.id = ev.{kind.column}", "k.weight > 0")
    return ("", "1 = 1")


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
    transitions = StageTransition._meta.db_table
    only = f"({', '.join(map(str, ids))})"
    stages_in = f"({_ids(opp + won)})"
    sql = (
        f"WITH ft AS ({_touch_sql(ids)}), "
        f"attributed AS ("
        f"SELECT t.campaign_id AS cid, t.id AS tid, t.to_stage_id AS sid, t.amount AS amount "
        f"FROM {transitions} t WHERE t.campaign_id IN {only} AND t.to_stage_id IN {stages_in} "
        f"UNION SELECT ft.cid, t.id, t.to_stage_id, t.amount FROM ft "
        f"JOIN {transitions} t ON t.account_id = ft.aid AND t.occurred_at >= ft.first_at "
        f"WHERE t.to_stage_id IN {stages_in}) "
        f"SELECT 'touch' AS part, cid, COUNT(*), 0, 0 FROM ft GROUP BY cid "
        f"UNION ALL SELECT 'result', cid, "
        f"SUM(CASE WHEN sid IN ({_ids(opp)}) THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN sid IN ({_ids(opp)}) THEN amount ELSE 0 END), "
        f"SUM(CASE WHEN sid IN ({_ids(won)}) THEN amount ELSE 0 END) "
        f"FROM attributed GROUP BY cid"
    )
    event = engagement_event_model()
    figures = {cid: {"touched": 0, "opportunities": 0, "pipeline": 0, "won": 0,
                     "after": None, "before": None} for cid in ids}
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for part, cid, a, b, c in cursor.fetchall():
            if part == "touch":
                figures[cid]["touched"] = a
            else:
                figures[cid].update(opportunities=int(a or 0), pipeline=b, won=c)
        if event is not None:
            days = conf.settings.ABMCRM_FUNNEL_LIFT_WINDOW_DAYS
            cursor.execute(f"WITH ft AS ({_touch_sql(ids)}) {_lift_sql(event, days)}")
            for cid, after, before in cursor.fetchall():
                figures[cid].update(after=int(after or 0), before=int(before or 0))
    result = {}
    for campaign in campaigns:
        f = figures[campaign.pk]
        cost = _money(campaign.fixed_cost) + _money(spent.get(campaign.pk))
        won_revenue = _money(f["won"])
        lift = None
        if event is not None:
            after, before = f["after"] or 0, f["before"] or 0
            lift = {"events_before": before, "events_after": after,
                    "change": after - before, "ratio": _ratio(after, before, 2)}
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



