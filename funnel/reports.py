"""The dual-funnel report, computed in the database: one SQL statement per side
(`sql.report`); nothing but the per-stage result rows reaches Python, which this module turns
into the report's figures.

Cohort mode: the entities that entered the funnel (their first transition) in [start, end),
followed to today. Period mode: what happened in [start, end): entities that first reached
each stage in the period; conversion is the share of those that also reached the next stage
before the end; `lost` counts moves to lost in the period, by the stage they left.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from programs.models import Campaign
from tiers.models import Tier

from . import selectors
from .models import Channel
from .sql import report as report_sql

SIDES = ("abm", "demand_gen")
MODES = ("cohort", "period")
GROUP_BYS = ("channel", "campaign", "tier", "month")


@dataclass
class ReportQuery:
    start: object  # date, inclusive
    end: object  # date, inclusive
    side: str = "both"
    mode: str = "cohort"
    group_by: str | None = None

    @property
    def sides(self):
        return SIDES if self.side == "both" else (self.side,)

    def bounds(self):
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(self.start, time.min), tz)
        end = timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min), tz)
        return start, end


def _percentile(lo, hi, n, tenths):
    """percentile_cont from the two ranks around position p·(n-1); p = tenths/10."""
    if not n or lo is None:
        return None
    frac = ((tenths * (n - 1)) % 10) / 10
    value = float(lo) + (float(hi if hi is not None else lo) - float(lo)) * frac
    return round(value, 2)


def _parse(path, rows, grouped):
    """SQL rows → {"total": figures, groups: {key: figures}} where figures is
    {"stages": {idx: {...}}, "won_amount": x}. When grouping, the overall counts are the sums
    of the groups' (the SQL sends none: a second pass over the entities for a handful of
    additions)."""
    k = len(path)
    out = {}
    for row in rows:
        kind, total, key = row[0], row[1], row[2]
        if not grouped:
            bucket = "total"
        elif total:
            bucket = "total"
        else:
            bucket = None if key == "" else key
        figures = out.setdefault(bucket, {"stages": {}, "won_amount": 0})
        if kind == "c":
            for i in range(k):
                stage = figures["stages"].setdefault(i, {})
                stage.update(reached=int(row[3 + 3 * i] or 0),
                             converted=int(row[4 + 3 * i] or 0),
                             lost=int(row[5 + 3 * i] or 0))
            figures["won_amount"] = row[3 + 3 * k] or 0
            figures["counted"] = True
        else:
            stage = figures["stages"].setdefault(row[3], {})
            stage.update(nd=int(row[4] or 0), med=(row[5], row[6]), p90=(row[7], row[8]))
    total = out.setdefault("total", {"stages": {}, "won_amount": 0})
    if grouped and not total.get("counted"):
        groups = [figures for bucket, figures in out.items() if bucket != "total"]
        for i in range(k):
            total["stages"].setdefault(i, {}).update({
                name: sum(g["stages"].get(i, {}).get(name, 0) for g in groups)
                for name in ("reached", "converted", "lost")})
        total["won_amount"] = sum((g["won_amount"] for g in groups), 0)
    return out


def _money(value):
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _ratio(numerator, denominator, places=4):
    if not denominator:
        return None
    return round(numerator / denominator, places)


def _stage_rows(path, figures):
    """The side's list of per-stage figures."""
    stages = (figures or {}).get("stages", {})
    out = []
    for i, stage in enumerate(path):
        row = stages.get(i, {})
        reached = row.get("reached", 0)
        reached_next = stages.get(i + 1, {}).get("reached", 0)
        last = i + 1 == len(path)
        n = row.get("nd", 0)
        med, p90 = row.get("med", (None, None)), row.get("p90", (None, None))
        out.append({
            "stage": stage.slug,
            "name": stage.name,
            "reached": reached,
            "converted_to_next": None if last else row.get("converted", 0),
            "conversion_to_next": None if last else _ratio(row.get("converted", 0), reached),
            "ratio_to_next": None if last else _ratio(reached_next, reached),
            "median_days_to_next": _percentile(med[0], med[1], n, 5),
            "p90_days_to_next": _percentile(p90[0], p90[1], n, 9),
            "lost": row.get("lost", 0),
        })
    return out


def _summary(path, stage_rows, figures):
    by_slug = {r["stage"]: r for r in stage_rows}
    handoff = next((s for s in path if s.is_handoff), path[0] if path else None)
    won = next((s for s in path if s.is_won), None)
    worked = by_slug[handoff.slug]["reached"] if handoff else 0
    won_deals = by_slug[won.slug]["reached"] if won else 0
    revenue = _money((figures or {}).get("won_amount", 0))
    return {
        "entered": stage_rows[0]["reached"] if stage_rows else 0,
        "entities_worked": worked,
        "worked_from_stage": handoff.slug if handoff else None,
        "won_deals": won_deals,
        "won_revenue": revenue,
        "average_deal_size": _money(revenue / won_deals) if won_deals else None,
        "worked_per_won_deal": _ratio(worked, won_deals, 2),
        "worked_per_won_revenue": _ratio(worked, float(revenue), 8) if revenue else None,
    }


def _labels(group_by, keys):
    keys = [k for k in keys if k is not None]
    if group_by == "channel":
        names = dict(Channel.choices)
        return {k: names.get(k, k or "No channel") for k in keys}
    if group_by == "campaign":
        return {c.pk: c.name for c in Campaign.objects.filter(pk__in=keys)}
    if group_by == "tier":
        return {t.pk: str(t) for t in Tier.objects.filter(pk__in=keys)}
    return {k: k for k in keys}


NONE_LABELS = {"channel": _("No channel"), "campaign": _("No campaign"), "tier": _("Untiered"),

               "month": "—"}


def funnel_report(query):
    """The report as a dict: {sides, summary, groups, …} (see docs/apps/funnel.md)."""
    return report_from_rows(query, report_sql.side_rows)


def report_from_rows(query, side_rows):
    """The report from `side_rows(query, side, path, stages)`, the rows of `sql.report`'s
    shape (a computation from the history, in the tests and the benchmark, checks the SQL
    that reads the state rows this way)."""
    stages = selectors.stages()
    sides, summary, per_group, paths = {}, {}, {}, {}
    for side in query.sides:
        path = paths[side] = selectors.side_path(side, stages)
        rows = side_rows(query, side, path, stages)
        parsed = _parse(path, rows, bool(query.group_by))
        total = parsed.pop("total", None)
        sides[side] = _stage_rows(path, total)
        summary[side] = _summary(path, sides[side], total)
        for key, figures in parsed.items():
            per_group.setdefault(key, {})[side] = figures
    report = {
        "mode": query.mode, "side": query.side, "group_by": query.group_by,
        "start": query.start.isoformat(), "end": query.end.isoformat(),
        "sides": sides, "summary": summary, "groups": [],
    }
    if query.group_by:
        labels = _labels(query.group_by, per_group)
        for key in _group_order(query.group_by, per_group, labels):
            group_sides = {side: _stage_rows(paths[side], per_group[key].get(side))
                           for side in query.sides}
            report["groups"].append({
                "key": key,
                "label": labels.get(key) or NONE_LABELS[query.group_by],
                "sides": group_sides,
                "summary": {side: _summary(paths[side], group_sides[side],
                                           per_group[key].get(side))
                            for side in query.sides},
            })
    return report


def _group_order(group_by, per_group, labels):
    keys = list(per_group)
    if group_by == "month":
        return sorted(keys, key=lambda k: (k is None, k or ""))
    return sorted(keys, key=lambda k: (k in (None, ""), str(labels.get(k) or "").lower(),
                                       str(k)))
