"""The funnel report computed from the history alone: the reference that the report reading
the state rows (`funnel.sql.report`) must equal, kept out of the product (used by
tests/funnel/test_properties.py and bench/funnel.py). It is the report's SQL as it was before
the state rows kept first-reached times. Per entity, the first time it reached each stage of
its path (at that stage *or any later one*) is a conditional MIN over its transitions; the
per-stage figures are then aggregates over entities, and the median / 90th percentile of the
days to the next stage are picked with ROW_NUMBER() and COUNT() windows."""

from django.db import connection

from abmcrm.core.db.names import column, days_between, table
from abmcrm.core.db.sqltext import Sql
from funnel.models import AccountFunnel, Lead, Stage, StageTransition
from funnel.reports import report_from_rows

# The entities and their groups are the report's own; what this reference computes
# differently is when each entity reached each stage (from the history).
from funnel.sql.report import _entity_sql, _ids


def side_sql(query, side, path, stages):
    """(sql, params) of one side's report along its `path`. Rows are ("c", total, grp, then
    reached, converted, lost for each stage of the path, then won amount) — the counts — and ("p",
    total, grp, idx, n, median low, median high, p90 low, p90 high, NULL…) — the day
    percentiles, picked from the entities that converted only (the window sorts stay small).
    `total` is 1 on the overall rows when grouping."""
    lost = [s for s in stages if s.is_lost]
    won = [s for s in path if s.is_won]
    start, end = (connection.ops.adapt_datetimefield_value(b) for b in query.bounds())
    source, eid, fk, grp = _entity_sql(side, query.group_by)
    transitions = table(StageTransition)
    state = AccountFunnel if side == Stage.Side.ABM else Lead
    cur, prev, entered = (column(state, name) for name in ("stage", "previous_stage",
                                                           "entered_at"))
    to, frm, at, amount = (column(StageTransition, name) for name in ("to_stage", "from_stage",
                                                                      "occurred_at", "amount"))
    period = query.mode == "period"
    grouped = bool(query.group_by)
    k = len(path)
    sql = Sql()

    # ent: the entities of the report, with their group and current state.
    sql.add(f"WITH ent AS (SELECT {eid} AS eid, {grp} AS grp, e.{cur} AS cur, "
            f"e.{prev} AS prev FROM {source} WHERE ")
    if period:
        sql.add(f"EXISTS (SELECT 1 FROM {transitions} w WHERE w.{fk} = {eid} "
                f"AND w.{at} >= %s AND w.{at} < %s)", start, end)
    else:
        sql.add(f"e.{entered} >= %s AND e.{entered} < %s", start, end)
    # pe: per entity, when it first reached each stage (at or beyond it), whether it was
    # lost from it, and its won amount.
    sql.add("), pe AS (SELECT ent.eid, ent.grp")
    for i, stage in enumerate(path):
        at_or_beyond = [s for s in path if s.position >= stage.position]
        sql.add(f", MIN(CASE WHEN t.{to} IN ({_ids(at_or_beyond)}) "
                f"THEN t.{at} END) AS r{i}")
        if period:
            sql.add(f", MAX(CASE WHEN t.{to} IN ({_ids(lost)}) AND t.{frm} = "
                    f"{stage.pk} AND t.{at} >= %s AND t.{at} < %s "
                    f"THEN 1 ELSE 0 END) AS l{i}", start, end)
        else:
            sql.add(f", MAX(CASE WHEN ent.cur IN ({_ids(lost)}) AND ent.prev = {stage.pk} "
                    f"THEN 1 ELSE 0 END) AS l{i}")
    sql.add(f", SUM(CASE WHEN t.{to} IN ({_ids(won)})")
    if period:
        sql.add(f" AND t.{at} >= %s AND t.{at} < %s", start, end)
    sql.add(f" THEN t.{amount} ELSE 0 END) AS won_amount FROM ent JOIN {transitions} t "
            f"ON t.{fk} = ent.eid GROUP BY ent.eid, ent.grp)")

    def reached(i):
        if period:
            return Sql().add(f"(r{i} >= %s AND r{i} < %s)", start, end)
        return Sql().add(f"(r{i} IS NOT NULL)")

    def converted(i):
        cond = reached(i).add(f" AND r{i + 1} IS NOT NULL")
        if period:
            cond.add(f" AND r{i + 1} < %s", end)
        return cond

    def counts(total):
        out = Sql().add(f"SELECT 'c' AS kind, {1 if total else 0} AS total, "
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
        sql.add(f"SELECT grp, {i} AS idx, {days_between(f'r{i + 1}', f'r{i}')} AS d FROM pe WHERE ")
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
    return sql.text, sql.params


def side_rows(query, side, path, stages):
    """The rows of `side_sql`, run."""
    sql, params = side_sql(query, side, path, stages)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def history_report(query):
    """The whole report (`funnel.reports.funnel_report`'s shape) from the history."""
    return report_from_rows(query, side_rows)
