"""Pipeline quota attainment, computed in the database. (The campaign ROI reads deals and
attribution: it lives in the pipeline app, `pipeline.attribution.campaign_roi`.)"""

from datetime import date, datetime, time

from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from .models import Channel, PipelineQuota, StageTransition
from .reports import _money, _ratio


def _month_bounds(month):
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(month.replace(day=1), time.min), tz)
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, timezone.make_aware(datetime.combine(nxt, time.min), tz)


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
