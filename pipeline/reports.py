"""The pipeline report and the forecast, computed in the database (`sql.report`,
`sql.forecast`): only per-group result rows reach Python, which turns them into the figures.

Definitions (docs/apps/pipeline.md): `opened` counts the deals opened in [start, end],
`pipeline` their amount; `won` and `lost` the deals closed in the period (by their current
status: a deal reopened since counts when it closes again), `win_rate` won ÷ (won + lost),
`won_revenue` the won deals' amount, `median_cycle_days` the median days from opened to won
(percentile_cont); `open`, `open_amount` and `weighted_open` (Σ probability × amount, each
deal's weighted amount rounded to the cent) the deals open at the end of the period."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from abmcrm.core.db import rowsets
from programs.models import Campaign
from tiers.models import Account, Tier

from . import conf, selectors
from .models import Channel, Opportunity
from .sql import forecast as forecast_sql
from .sql import report as report_sql
from .sql.common import subquery

GROUP_BYS = ("owner", "product", "tier", "channel", "campaign", "month", "account", "side")
FORECAST_GROUP_BYS = ("owner", "product", "tier")
CENT = Decimal("0.01")


def money(value):
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator, denominator, places=4):
    if not denominator:
        return None
    return round(numerator / denominator, places)


def day_bounds(start, end):
    """[start 00:00, the day after end 00:00) in the current time zone."""
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz))


@dataclass
class ReportQuery:
    start: date  # inclusive
    end: date  # inclusive
    group_by: str | None = None
    deals: object = None  # a queryset of Opportunity: the deals a filter selects (None: all)


def _figures(row=None, median=None):
    opened, pipeline, won, lost, revenue, open_, open_amount, weighted = (
        row if row is not None else (0,) * len(report_sql.FIGURES))
    won, lost = int(won or 0), int(lost or 0)
    revenue = money(revenue)
    return {
        "opened": int(opened or 0),
        "pipeline": money(pipeline),
        "won": won,
        "lost": lost,
        "win_rate": ratio(won, won + lost),
        "won_revenue": revenue,
        "average_won_amount": money(revenue / won) if won else None,
        "median_cycle_days": median,
        "open": int(open_ or 0),
        "open_amount": money(open_amount),
        "weighted_open": money(weighted),
    }


def labels(group_by, keys):
    """{key: label} for the report's groups; keys without a label get NONE_LABELS'."""
    keys = [key for key in keys if key not in (None, "")]
    if group_by == "owner":
        return {u.pk: u.get_full_name() or u.get_username()
                for u in get_user_model().objects.filter(pk__in=keys)}
    if group_by == "tier":
        return {t.pk: str(t) for t in Tier.objects.filter(pk__in=keys)}
    if group_by == "campaign":
        return {c.pk: c.name for c in Campaign.objects.filter(pk__in=keys)}
    if group_by == "account":
        # Up to one label an account with deals (100,000 at the benchmark's size): read as
        # pairs, the ids passed as one parameter (`rowsets.ids`), not as model instances.
        return dict(Account.objects.filter(pk__in=rowsets.ids(keys)).values_list("id", "name"))
    if group_by == "channel":
        names = dict(Channel.choices)
        return {key: str(names.get(key, key)) for key in keys}
    if group_by == "side":
        return {"abm": _("ABM"), "demand_gen": _("Demand generation")}
    return {key: str(key) for key in keys}


def none_label(group_by):
    return {"owner": _("No owner"), "product": _("No product"), "tier": _("Untiered"),
            "channel": _("No channel"), "campaign": _("No campaign"), "month": "—",
            "account": "—", "side": "—"}.get(group_by, "—")


def _order(group_by, keys, names):
    if group_by == "month":
        return sorted(keys, key=lambda k: (k is None, k or ""))
    if group_by == "side":
        return sorted(keys, key=lambda k: (k != "abm", str(k)))
    return sorted(keys, key=lambda k: (k in (None, ""), str(names.get(k) or "").lower(),
                                       str(k)))


def pipeline_report(query):
    """{start, end, group_by, totals: figures, groups: [{key, label, …figures}]}."""
    start, end = day_bounds(query.start, query.end)
    deal_filter = subquery(query.deals) if query.deals is not None else None
    # Deals that moved after the end need their history read (an index lookup says whether
    # there are any: none for a period ending today).
    history = Opportunity.objects.filter(stage_changed_at__gte=end, opened_at__lt=end).exists()
    rows = report_sql.report_rows(start=start, end=end, group_by=query.group_by,
                                  stages=selectors.stages(), history=history,
                                  deal_filter=deal_filter)
    counts, medians = {}, {}
    for kind, total, key, *values in rows:
        bucket = "total" if total else key
        if kind == "c":
            counts[bucket] = values[:len(report_sql.FIGURES)]
        elif values[-1] is not None:
            medians[bucket] = round(float(values[-1]), 2)
    # The totals are the groups' sums (every figure but the median adds up).
    counts["total"] = [sum((row[i] or 0) for row in counts.values())
                       for i in range(len(report_sql.FIGURES))] if counts else None
    report = {
        "start": query.start.isoformat(), "end": query.end.isoformat(),
        "group_by": query.group_by,
        "totals": _figures(counts.get("total"), medians.get("total")),
        "groups": [],
    }
    if query.group_by:
        keys = [key for key in counts if key != "total"]
        names = labels(query.group_by, keys)
        for key in _order(query.group_by, keys, names):
            report["groups"].append({
                "key": key, "label": names.get(key) or none_label(query.group_by),
                **_figures(counts[key], medians.get(key))})
    return report


# Forecast ----------------------------------------------------------------------------------

def _add_months(month, n):
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _bucket(row=None):
    deals, amount, weighted, commit = row if row is not None else (0, 0, 0, 0)
    return {"open_deals": int(deals or 0), "amount": money(amount),
            "weighted_amount": money(weighted), "commit": money(commit)}


def _sum_buckets(buckets):
    total = {"open_deals": 0, "amount": Decimal("0.00"), "weighted_amount": Decimal("0.00"),
             "commit": Decimal("0.00")}
    for bucket in buckets:
        for key in total:
            total[key] += bucket[key]
    return total


def forecast(*, months=None, group_by=None, deals=None, today=None):
    """The open deals by expected close month, from this month for `months` months:
    {start_month, months: [{month, open_deals, amount, weighted_amount, commit}], totals,
    overdue, later, undated, commit_probability, group_by, groups: […the same per group]}.
    `totals` sums the months shown; `overdue` (expected before this month), `later` and
    `undated` are the open deals outside them."""
    months = months or conf.settings.ABMCRM_FORECAST_MONTHS
    first = (today or timezone.localdate()).replace(day=1)
    labels_ = [f"{_add_months(first, i):%Y-%m}" for i in range(months)]
    commit = conf.settings.ABMCRM_COMMIT_PROBABILITY
    rows = forecast_sql.forecast_rows(
        first=first, end=_add_months(first, months), commit_probability=commit,
        group_by=group_by, deal_filter=subquery(deals) if deals is not None else None)
    by_group = {}
    for bucket, key, *values in rows:
        by_group.setdefault(key if group_by else None, {})[bucket] = _bucket(values)

    def shape(buckets):
        month_rows = [{"month": label, **buckets.get(label, _bucket())} for label in labels_]
        return {"months": month_rows, "totals": _sum_buckets(month_rows),
                "overdue": buckets.get("overdue", _bucket()),
                "later": buckets.get("later", _bucket()),
                "undated": buckets.get("undated", _bucket())}

    result = {"start_month": labels_[0], "horizon": months, "group_by": group_by,
              "commit_probability": commit}
    if group_by:
        merged = {}
        for buckets in by_group.values():
            for bucket, figures in buckets.items():
                merged[bucket] = _sum_buckets([merged.get(bucket, _bucket()), figures])
        result.update(shape(merged))
        names = labels(group_by, list(by_group))
        result["groups"] = [{"key": key, "label": names.get(key) or none_label(group_by),
                             **shape(by_group[key])}
                            for key in _order(group_by, list(by_group), names)]
    else:
        result.update(shape(by_group.get(None, {})))
        result["groups"] = []
    return result
