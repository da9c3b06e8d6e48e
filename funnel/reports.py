"""The dual-funnel report, computed in the database.

One SQL statement per side: per entity, the first time it reached each stage of its path
("reaching a stage implies having passed the earlier ones": the first time at that stage *or
any later one*) is a conditional MIN over its transitions; the per-stage figures are then
aggregates over entities, and the median / 90th percentile of the days to the next stage are
picked with ROW_NUMBER() and COUNT() windows (percentile_cont's interpolation, done the same
way on SQLite and PostgreSQL). Nothing but the per-stage result rows reaches Python.

Cohort mode: the entities that entered the funnel (their first transition) in [start, end),
followed to today. Period mode: what happened in [start, end): entities that first reached
each stage in the period; conversion is the share of those that also reached the next stage
before the end; `lost` counts moves to lost in the period, by the stage they left.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from programs.models import Campaign
from tiers.models import Tier

from . import selectors
from .models import AccountFunnel, Channel, Lead, Stage, StageTransition

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


def _days(later, earlier):
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def _month(column):
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


def _ids(stages):
    return ", ".join(str(s.pk) for s in stages) or "NULL"


def _entity_sql(side, group_by):
    """FROM clause, entity id, entry time and group expression of one side's entities."""
    tier_join = "LEFT JOIN {account} a ON a.id = e.{fk}"
    if side == Stage.Side.ABM:
        table, eid, fk = AccountFunnel._meta.db_table, "e.account_id", "account_id"
        groups = {"channel": "e.entry_channel", "campaign": "e.entry_campaign_id",
                  "tier": "a.tier_id"}
        join = tier_join.format(account="tiers_account", fk="account_id")
    else:
        table, eid, fk = Lead._meta.db_table, "e.id", "lead_id"
        groups = {"channel": "e.channel", "campaign": "e.campaign_id", "tier": "a.tier_id"}
        join = tier_join.format(account="tiers_account", fk="account_id")
    groups["month"] = _month("e.entered_at")
    grp = groups[group_by] if group_by else "0"
    source = f"{table} e {join}" if group_by == "tier" else f"{table} e"
    return source, eid, fk, grp


class _Sql:
    """SQL text and its positional parameters, built together so they stay in order."""

    def __init__(self):
        self.parts, self.params = [], []

    def add(self, text, *params):
        self.parts.append(text)
        self.params.extend(params)
        return self

    def extend(self, other):
        self.parts += other.parts
        self.params += other.params
        return self

    @property
    def text(self):
        return "".join(self.parts)


def side_sql(query, side, stages):
    """(sql, params, path) of one side's report. Rows are ("c", total, grp, then reached,
    converted, lost for each stage of the path, then won amount) — the counts — and ("p",
    total, grp, idx, n, median low, median high, p90 low, p90 high, NULL…) — the day
    percentiles, picked from the entities that converted only (the window sorts stay small).
    `total` is 1 on the overall rows when grouping."""
    path = selectors.side_path(side, stages)
    lost = [s for s in stages if s.is_lost]
    won = [s for s in path if s.is_won]
    start, end = (connection.ops.adapt_datetimefield_value(b) for b in query.bounds())
    source, eid, fk, grp = _entity_sql(side, query.group_by)
    transitions = StageTransition._meta.db_table
    period = query.mode == "period"
    grouped = bool(query.group_by)
    k = len(path)
    sql = _Sql()

    # ent: the entities of the report, with their group and current state.
    sql.add(f"WITH ent AS (SELECT {eid} AS eid, {grp} AS grp, e.stage_id AS cur, "
            f"e.previous_stage_id AS prev FROM {source} WHERE ")
    if period:
        sql.add(f"EXISTS (SELECT 1 FROM {transitions} w WHERE w.{fk} = {eid} "
                "AND w.occurred_at >= %s AND w.occurred_at < %s)", start, end)
    else:
        sql.add("e.entered_at >= %s AND e.entered_at < %s", start, end)
    # pe: per entity, when it first reached each stage (at or beyond it), whether it was
    # lost from it, and its won amount.
    sql.add("), pe AS (SELECT ent.eid, ent.grp")
    for i, stage in enumerate(path):
        at_or_beyond = [s for s in path if s.position >= stage.position]
        sql.add(f", MIN(CASE WHEN t.to_stage_id IN ({_ids(at_or_beyond)}) "
                f"THEN t.occurred_at END) AS r{i}")
        if period:
            sql.add(f", MAX(CASE WHEN t.to_stage_id IN ({_ids(lost)}) AND t.from_stage_id = "
                    f"{stage.pk} AND t.occurred_at >= %s AND t.occurred_at < %s "
                    f"THEN 1 ELSE 0 END) AS l{i}", start, end)
        else:
            sql.add(f", MAX(CASE WHEN ent.cur IN ({_ids(lost)}) AND ent.prev = {stage.pk} "
                    f"THEN 1 ELSE 0 END) AS l{i}")
    sql.add(f", SUM(CASE WHEN t.to_stage_id IN ({_ids(won)})")
    if period:
        sql.add(" AND t.occurred_at >= %s AND t.occurred_at < %s", start, end)
    sql.add(f" THEN t.amount ELSE 0 END) AS won_amount FROM ent JOIN {transitions} t "
            f"ON t.{fk} = ent.eid GROUP BY ent.eid, ent.grp)")

    def reached(i):
        if period:
            return _Sql().add(f"(r{i} >= %s AND r{i} < %s)", start, end)
        return _Sql().add(f"(r{i} IS NOT NULL)")

    def converted(i):
        cond = reached(i).add(f" AND r{i + 1} IS NOT NULL")
        if period:
            cond.add(f" AND r{i + 1} < %s", end)
        return cond

    def counts(total):
        out = _Sql().add(f"SELECT 'c' AS kind, {1 if total else 0} AS total, "
                         f"{'NULL' if total else 'grp'} AS grp")
        for i in range(k):
            out.add(", SUM(CASE WHEN ").extend(reached(i)).add(" THEN 1 ELSE 0 END)")
            if i + 1 < k:
                out.add(", SUM(CASE WHEN ").extend(converted(i)).add(" THEN 1 ELSE 0 END)")
            else:
                out.add(", 0")
            out.add(f", SUM(l{i})")
        out.add(", SUM(won_amount) FROM pe")
        return out.add("" if total else " GROUP BY grp")

    # dd: the days from each stage to the next, for the entities that converted.
    sql.add(", dd AS (")
    for i in range(k - 1):
        if i:
            sql.add(" UNION ALL ")
        sql.add(f"SELECT grp, {i} AS idx, {_days(f'r{i + 1}', f'r{i}')} AS d FROM pe WHERE ")
        sql.extend(converted(i))
    sql.add(")")
    windows = ("ROW_NUMBER() OVER (PARTITION BY grp, idx ORDER BY d) AS rn, "
               "COUNT(*) OVER (PARTITION BY grp, idx) AS nd")
    if grouped:
        windows += (", ROW_NUMBER() OVER (PARTITION BY idx ORDER BY d) AS rn_t, "
                    "COUNT(*) OVER (PARTITION BY idx) AS nd_t")
    sql.add(f", ranked AS (SELECT grp, idx, d, {windows} FROM dd) ")

    pad = ", NULL" * (3 * k + 1 - 6)

    def picks(rn, nd):
        return (f"MAX({nd}), "
                f"MIN(CASE WHEN {rn} = ({nd} - 1) / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = {nd} / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = (9 * ({nd} - 1)) / 10 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = (9 * ({nd} - 1) + 9) / 10 + 1 THEN d END)")

    sql.extend(counts(total=False))
    sql.add(f" UNION ALL SELECT 'p', 0, grp, idx, {picks('rn', 'nd')}{pad} FROM ranked "
            "GROUP BY grp, idx")
    if grouped:
        sql.add(" UNION ALL ").extend(counts(total=True))
        sql.add(f" UNION ALL SELECT 'p', 1, NULL, idx, {picks('rn_t', 'nd_t')}{pad} "
                "FROM ranked GROUP BY idx")
    return sql.text, sql.params, path


def _percentile(lo, hi, n, tenths):
    """percentile_cont from the two ranks around position p·(n-1); p = tenths/10."""
    if not n or lo is None:
        return None
    frac = ((tenths * (n - 1)) % 10) / 10
    value = float(lo) + (float(hi if hi is not None else lo) - float(lo)) * frac
    return round(value, 2)


def _parse(path, rows, grouped):
    """SQL rows → {"total": figures, groups: {key: figures}} where figures is
    {"stages": {idx: {...}}, "won_amount": x}."""
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
        else:
            stage = figures["stages"].setdefault(row[3], {})
            stage.update(nd=int(row[4] or 0), med=(row[5], row[6]), p90=(row[7], row[8]))
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


NONE_LABELS = {"channel": "No channel", "campaign": "No campaign", "tier": "Untiered",
               "month": "—"}


def funnel_report(query):
    """The report as a dict: {sides, summary, groups, …} (see docs/funnel.md)."""
    stages = selectors.stages()
    sides, summary, per_group, paths = {}, {}, {}, {}
    for side in query.sides:
        sql, params, path = side_sql(query, side, stages)
        paths[side] = path
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            parsed = _parse(path, cursor.fetchall(), bool(query.group_by))
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
