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


def side_sql(query, side, stages):
    """(sql, params) of one side's report rows: (total, grp, idx, reached, converted, lost,
    won_amount, nd, med_lo, med_hi, p90_lo, p90_hi)."""
    path = selectors.side_path(side, stages)
    lost = [s for s in stages if s.is_lost]
    won = [s for s in path if s.is_won]
    start, end = (connection.ops.adapt_datetimefield_value(b) for b in query.bounds())
    source, eid, fk, grp = _entity_sql(side, query.group_by)
    transitions = StageTransition._meta.db_table
    period = query.mode == "period"

    if period:
        where = (f"EXISTS (SELECT 1 FROM {transitions} w WHERE w.{fk} = {eid} "
                 "AND w.occurred_at >= %s AND w.occurred_at < %s)")
    else:
        where = "e.entered_at >= %s AND e.entered_at < %s"
    ent = (f"SELECT {eid} AS eid, {grp} AS grp, e.stage_id AS cur, "
           f"e.previous_stage_id AS prev FROM {source} WHERE {where}")

    columns = []
    for i, stage in enumerate(path):
        at_or_beyond = [s for s in path if s.position >= stage.position]
        columns.append(f"MIN(CASE WHEN t.to_stage_id IN ({_ids(at_or_beyond)}) "
                       f"THEN t.occurred_at END) AS r{i}")
        if period:
            columns.append(
                f"MAX(CASE WHEN t.to_stage_id IN ({_ids(lost)}) AND t.from_stage_id = "
                f"{stage.pk} AND t.occurred_at >= %s AND t.occurred_at < %s "
                f"THEN 1 ELSE 0 END) AS l{i}")
        else:
            columns.append(
                f"MAX(CASE WHEN ent.cur IN ({_ids(lost)}) AND ent.prev = {stage.pk} "
                f"THEN 1 ELSE 0 END) AS l{i}")
    won_in = f"t.to_stage_id IN ({_ids(won)})"
    if period:
        won_in += " AND t.occurred_at >= %s AND t.occurred_at < %s"
    columns.append(f"SUM(CASE WHEN {won_in} THEN t.amount ELSE 0 END) AS won_amount")
    pe = (f"SELECT ent.eid, ent.grp, {', '.join(columns)} FROM ent "
          f"JOIN {transitions} t ON t.{fk} = ent.eid GROUP BY ent.eid, ent.grp")

    unions = []
    for i in range(len(path)):
        reached = f"(r{i} >= %s AND r{i} < %s)" if period else f"(r{i} IS NOT NULL)"
        if i + 1 < len(path):
            nxt = f"(r{i + 1} IS NOT NULL" + (f" AND r{i + 1} < %s)" if period else ")")
            converted = f"CASE WHEN {reached} AND {nxt} THEN 1 ELSE 0 END"
            days = f"CASE WHEN {reached} AND {nxt} THEN {_days(f'r{i + 1}', f'r{i}')} END"
        else:
            converted, days = "0", "NULL"
        unions.append(
            f"SELECT grp, {i} AS idx, CASE WHEN {reached} THEN 1 ELSE 0 END AS reached, "
            f"{converted} AS converted, {days} AS d, l{i} AS lost, "
            f"{'won_amount' if i == 0 else '0'} AS won_amount FROM pe")
    return _assemble(query, ent, pe, unions, path, start, end, period)


def _assemble(query, ent, pe, unions, path, start, end, period):
    """Build the statement and its positional parameters, in the order they appear."""
    params = [start, end]  # ent
    if period:
        params += [start, end] * len(path)  # lost columns
        params += [start, end]  # won
    for i in range(len(path)):
        reached = [start, end] if period else []
        nxt = [end] if period else []
        params += reached  # the "reached" column
        if i + 1 < len(path):
            params += reached + nxt + reached + nxt
    order = "(CASE WHEN d IS NULL THEN 1 ELSE 0 END), d"
    windows = (f"ROW_NUMBER() OVER (PARTITION BY grp, idx ORDER BY {order}) AS rn, "
               "COUNT(d) OVER (PARTITION BY grp, idx) AS nd")
    grouped = bool(query.group_by)
    if grouped:
        windows += (f", ROW_NUMBER() OVER (PARTITION BY idx ORDER BY {order}) AS rn_t, "
                    "COUNT(d) OVER (PARTITION BY idx) AS nd_t")

    def picks(rn, nd):
        return (f"MAX({nd}) AS nd, "
                f"MIN(CASE WHEN d IS NOT NULL AND {rn} = ({nd} - 1) / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN d IS NOT NULL AND {rn} = {nd} / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN d IS NOT NULL AND {rn} = (9 * ({nd} - 1)) / 10 + 1 THEN d END), "
                f"MIN(CASE WHEN d IS NOT NULL AND {rn} = (9 * ({nd} - 1) + 9) / 10 + 1 "
                "THEN d END)")

    sums = ("SUM(reached) AS reached, SUM(converted) AS converted, SUM(lost) AS lost, "
            "SUM(won_amount) AS won_amount")
    final = (f"SELECT 0 AS total, grp, idx, {sums}, {picks('rn', 'nd')} "
             "FROM ranked GROUP BY grp, idx")
    if grouped:
        final += (f" UNION ALL SELECT 1 AS total, NULL AS grp, idx, {sums}, "
                  f"{picks('rn_t', 'nd_t')} FROM ranked GROUP BY idx")
    sql = (f"WITH ent AS ({ent}), pe AS ({pe}), u AS ({' UNION ALL '.join(unions)}), "
           f"ranked AS (SELECT grp, idx, reached, converted, d, lost, won_amount, {windows} "
           f"FROM u) {final}")
    return sql, params, path


def _percentile(lo, hi, n, tenths):
    """percentile_cont from the two ranks around position p·(n-1); p = tenths/10."""
    if not n or lo is None:
        return None
    frac = ((tenths * (n - 1)) % 10) / 10
    value = float(lo) + (float(hi if hi is not None else lo) - float(lo)) * frac
    return round(value, 2)


def _money(value):
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _ratio(numerator, denominator, places=4):
    if not denominator:
        return None
    return round(numerator / denominator, places)


def _stage_rows(path, rows):
    """The side's list of per-stage figures from its SQL rows {idx: row}."""
    out = []
    for i, stage in enumerate(path):
        row = rows.get(i)
        reached = int(row[3] or 0) if row else 0
        converted = int(row[4] or 0) if row else 0
        n = int(row[7] or 0) if row else 0
        nxt = rows.get(i + 1)
        reached_next = int(nxt[3] or 0) if nxt and i + 1 < len(path) else 0
        last = i + 1 == len(path)
        out.append({
            "stage": stage.slug,
            "name": stage.name,
            "reached": reached,
            "converted_to_next": None if last else converted,
            "conversion_to_next": None if last else _ratio(converted, reached),
            "ratio_to_next": None if last else _ratio(reached_next, reached),
            "median_days_to_next": _percentile(row[8], row[9], n, 5) if row else None,
            "p90_days_to_next": _percentile(row[10], row[11], n, 9) if row else None,
            "lost": int(row[5] or 0) if row else 0,
        })
    return out


def _summary(path, stage_rows, rows):
    by_slug = {r["stage"]: r for r in stage_rows}
    handoff = next((s for s in path if s.is_handoff), path[0] if path else None)
    won = next((s for s in path if s.is_won), None)
    worked = by_slug[handoff.slug]["reached"] if handoff else 0
    won_deals = by_slug[won.slug]["reached"] if won else 0
    revenue = _money(rows.get(0)[6] if rows.get(0) else 0)
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
    sides, summary, per_group = {}, {}, {}
    paths = {}
    for side in query.sides:
        sql, params, path = side_sql(query, side, stages)
        paths[side] = path
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            result = cursor.fetchall()
        totals, groups = {}, {}
        for row in result:
            if row[0] == 1 or not query.group_by:
                totals[row[2]] = row
            else:
                key = None if row[1] == "" else row[1]
                groups.setdefault(key, {})[row[2]] = row
        sides[side] = _stage_rows(path, totals)
        summary[side] = _summary(path, sides[side], totals)
        for key, rows in groups.items():
            per_group.setdefault(key, {})[side] = rows
    report = {
        "mode": query.mode, "side": query.side, "group_by": query.group_by,
        "start": query.start.isoformat(), "end": query.end.isoformat(),
        "sides": sides, "summary": summary, "groups": [],
    }
    if query.group_by:
        labels = _labels(query.group_by, per_group)
        for key in _group_order(query.group_by, per_group, labels):
            group_sides = {side: _stage_rows(paths[side], per_group[key].get(side, {}))
                           for side in query.sides}
            report["groups"].append({
                "key": key,
                "label": labels.get(key) or NONE_LABELS[query.group_by],
                "sides": group_sides,
                "summary": {side: _summary(paths[side], group_sides[side],
                                           per_group[key].get(side, {}))
                            for side in query.sides},
            })
    return report


def _group_order(group_by, per_group, labels):
    keys = list(per_group)
    if group_by == "month":
        return sorted(keys, key=lambda k: (k is None, k or ""))
    return sorted(keys, key=lambda k: (k in (None, ""), str(labels.get(k) or "").lower(),
                                       str(k)))
