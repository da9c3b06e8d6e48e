"""The dual-funnel report's SQL, one statement per side: per entity, the first time it reached
each stage of its path ("reaching a stage implies having passed the earlier ones": the first
time at that stage *or any later one*) is the earliest of the first-reached columns of its
state row (`reached_<slot>_at`, kept by the transition service) for that stage and the later
ones; the per-stage figures are then aggregates over entities, and the median / 90th
percentile of the days to the next stage are picked at the ranks percentile_cont
interpolates between: on SQLite with ROW_NUMBER() and COUNT() windows, on PostgreSQL by
NumPy from the arrays of days the statement collects per group (`_picked`). The entities
are read, not their history: see docs/internals/design-decisions.md. Table and column names
come from the models' `_meta`."""

import numpy as np
from django.db import connection

from abmcrm.core.db.aggregates import float_array_agg, float_array_bytes, float_array_values
from abmcrm.core.db.names import column, days_between, month_of, table
from abmcrm.core.db.sqltext import Sql
from tiers.models import Account

from ..models import AccountFunnel, Lead, Stage, StageTransition


def _ids(stages):
    return ", ".join(str(s.pk) for s in stages) or "NULL"


def _entity_sql(side, group_by):
    """FROM clause, entity id, its foreign key column on the transitions and the group
    expression of one side's entities."""
    if side == Stage.Side.ABM:
        model, fk = AccountFunnel, column(StageTransition, "account")
        eid = f"e.{column(AccountFunnel, 'account')}"
        groups = {"channel": f"e.{column(model, 'entry_channel')}",
                  "campaign": f"e.{column(model, 'entry_campaign')}"}
    else:
        model, fk = Lead, column(StageTransition, "lead")
        eid = f"e.{column(Lead, 'id')}"
        groups = {"channel": f"e.{column(model, 'channel')}",
                  "campaign": f"e.{column(model, 'campaign')}"}
    groups["tier"] = f"a.{column(Account, 'tier')}"
    groups["month"] = month_of(f"e.{column(model, 'entered_at')}")
    grp = groups[group_by] if group_by else "0"
    join = (f" LEFT JOIN {table(Account)} a ON a.{column(Account, 'id')} = "
            f"e.{column(model, 'account')}")
    source = f"{table(model)} e{join if group_by == 'tier' else ''}"
    return source, eid, fk, grp


def _least(expressions):
    """SQL for the earliest of datetime `expressions`, NULLs ignored (NULL if all are):
    PostgreSQL's LEAST; SQLite's multi-argument MIN returns NULL as soon as one is, so NULLs
    become a time after any other there (the values are ISO text)."""
    if len(expressions) == 1:
        return expressions[0]
    if connection.vendor == "postgresql":
        return f"LEAST({', '.join(expressions)})"
    never = "'9999-12-31 23:59:59.999999'"
    return (f"NULLIF(MIN({', '.join(f'COALESCE({e}, {never})' for e in expressions)}), "
            f"{never})")


def _first_set(expressions):
    """SQL for the first of `expressions` that is not NULL (NULL if none is)."""
    if len(expressions) == 1:
        return expressions[0]
    return f"COALESCE({', '.join(expressions)})"


def side_sql(query, side, path, stages):
    """(sql, params) of one side's report along its `path`. Rows are ("c", 0, grp, then
    reached, converted, lost for each stage of the path, then won amount) — the counts, per
    group (the overall counts are their sums) — and ("p", total, grp, idx, n, median low,
    median high, p90 low, p90 high, NULL…) — the day percentiles, picked from the entities
    that converted only (the sorts stay small). `total` is 1 on the overall percentile rows
    when grouping.

    The entities' state rows are read, not their history: a built-in stage's first time is
    a column of the row (`reached_<slot>_at`). The history is read only through its
    (stage, time) index, for what the rows don't hold: the won amounts of a period, the
    period's moves to lost, and the first times at stages an admin added (no column)."""
    lost = [s for s in stages if s.is_lost]
    won = [s for s in path if s.is_won]
    start, end = (connection.ops.adapt_datetimefield_value(b) for b in query.bounds())
    source, eid, fk, grp = _entity_sql(side, query.group_by)
    transitions = table(StageTransition)
    state = AccountFunnel if side == Stage.Side.ABM else Lead
    cur, prev, entered, changed = (column(state, name) for name in (
        "stage", "previous_stage", "entered_at", "stage_changed_at"))
    to, frm, at, amount = (column(StageTransition, name) for name in ("to_stage", "from_stage",
                                                                      "occurred_at", "amount"))
    period = query.mode == "period"
    grouped = bool(query.group_by)
    k = len(path)
    sql = Sql()

    # h: per entity, from the history, what its state row doesn't hold. Only the transitions
    # to the stages asked for are read (the (to_stage, occurred_at) index).
    extra = [s for s in path if not state.reached_field(s)]
    first = {s.pk: (f"e.{column(state, state.reached_field(s))}" if state.reached_field(s)
                    else f"h.x{s.pk}") for s in path}
    history = Sql()
    for stage in extra:
        history.add(f", MIN(CASE WHEN t.{to} = {stage.pk} THEN t.{at} END) AS x{stage.pk}")
    period_bounds = f" AND t.{at} >= %s AND t.{at} < %s"
    # All time, the built-in won stage's amounts are summed on the state row.
    won_on_row = not period and [s.slot for s in won] == ["won"]
    if won and not won_on_row:
        history.add(f", SUM(CASE WHEN t.{to} IN ({_ids(won)})")
        if period:
            history.add(period_bounds, start, end)
        history.add(f" THEN t.{amount} END) AS won_amount")
    if period:
        for i, stage in enumerate(path):
            history.add(f", MAX(CASE WHEN t.{to} IN ({_ids(lost)}) AND t.{frm} = {stage.pk}"
                        f"{period_bounds} THEN 1 ELSE 0 END) AS l{i}", start, end)
    wanted = [*extra, *(won if not won_on_row else ()), *(lost if period else ())]
    join = ""
    if wanted:
        history_params = history.params
        join = (f" LEFT JOIN (SELECT t.{fk} AS eid{history.text} FROM {transitions} t "
                f"WHERE t.{to} IN ({_ids(wanted)}) GROUP BY t.{fk}) h ON h.eid = {eid}")
    else:
        history_params = []

    # pe: per entity of the report, when it first reached each stage (at or beyond it: the
    # earliest of the first times at it and at the stages after it), whether it was lost from
    # it, and its won amount.
    sql.add("WITH pe AS (SELECT " + f"{eid} AS eid, {grp} AS grp")
    for i, stage in enumerate(path):
        beyond = [first[s.pk] for s in path if s.position >= stage.position]
        sql.add(f", {_least(beyond)} AS r{i}")
        if not period:
            # Whether it reached the stage at all: the first of its times that is set, no
            # comparisons (the counts and filters ask only this, the days need r{i}).
            sql.add(f", {_first_set(beyond)} AS h{i}")
        if period:
            sql.add(f", COALESCE(h.l{i}, 0) AS l{i}")
        else:
            sql.add(f", CASE WHEN e.{cur} IN ({_ids(lost)}) AND e.{prev} = {stage.pk} "
                    f"THEN 1 ELSE 0 END AS l{i}")
    won_amount = (f"e.{column(state, 'won_amount')}" if won_on_row
                  else "COALESCE(h.won_amount, 0)" if won else "0")
    sql.add(f", {won_amount} AS won_amount FROM {source}{join}")
    sql.params += history_params
    if period:
        # The entities with a transition in the period: its last one is at or after the
        # start and its first before the end (the state row narrows, the index decides).
        sql.add(f" WHERE e.{changed} >= %s AND e.{entered} < %s AND EXISTS (SELECT 1 FROM "
                f"{transitions} w WHERE w.{fk} = {eid} AND w.{at} >= %s AND w.{at} < %s)",
                start, end, start, end)
    else:
        sql.add(f" WHERE e.{entered} >= %s AND e.{entered} < %s", start, end)
    # pe is folded into its one reader (on PostgreSQL, g): each LEAST is then computed at
    # each use, but the scan and the aggregation can run in parallel workers. (OFFSET 0
    # would compute each LEAST once a row, and keep the whole aggregation in one process.)
    sql.add(")")

    def reached(i):
        if period:
            return Sql().add(f"(r{i} >= %s AND r{i} < %s)", start, end)
        return Sql().add(f"(h{i} IS NOT NULL)")

    def converted(i):
        if not period:
            # All time, reaching the next stage implies reaching this one.
            return Sql().add(f"(h{i + 1} IS NOT NULL)")
        return reached(i).add(f" AND r{i + 1} IS NOT NULL AND r{i + 1} < %s", end)

    def count_list():
        """The aggregates of a 'c' row after grp: reached, converted, lost a stage, then the
        won amount."""
        out = []
        for i in range(k):
            if period:
                out.append(Sql().add("SUM(CASE WHEN ").extend(reached(i)).add(
                    " THEN 1 ELSE 0 END)"))
                out.append(Sql().add("SUM(CASE WHEN ").extend(converted(i)).add(
                    " THEN 1 ELSE 0 END)") if i + 1 < k else Sql().add("0"))
            else:
                # All time, reaching the next stage implies reaching this one (r{i} is the
                # earliest of a superset of r{i + 1}'s times): converted = reached next.
                out.append(Sql().add(f"COUNT(h{i})"))
                out.append(Sql().add(f"COUNT(h{i + 1})" if i + 1 < k else "0"))
            out.append(Sql().add(f"SUM(l{i})"))
        return [*out, Sql().add("SUM(won_amount)")]

    def counts():
        out = Sql()
        for part in count_list():
            out.add(", ").extend(part)
        return out

    pad = ", NULL" * (3 * k + 1 - 6)
    if connection.vendor == "postgresql":
        # g: per group, the counts and each stage's days to the next (unsorted), in one hashed
        # pass over the entities: an ordered aggregate would sort every entity row by group
        # first, and unpivoting the entities into a row a stage costs more than the rest.
        # The days are collected by the parallel-safe array aggregate (abmcrm.core.db.
        # aggregates: array_agg has no combine function before PostgreSQL 16), so that the
        # pass runs in the leader and its workers, as the floor's `GROUP BY` scan does. Each
        # array comes back in binary after its group's counts; `side_rows` picks the
        # percentiles' ranks from it.
        sql.add(", g AS (SELECT grp")
        names = []
        for j, part in enumerate(count_list()):
            sql.add(", ").extend(part).add(f" AS n{j}")
            names.append(f"n{j}")
        for i in range(k - 1):
            sql.add(f", {float_array_agg(_days(f'r{i + 1}', f'r{i}'))} FILTER (WHERE ")
            sql.extend(converted(i)).add(f") AS a{i}")
        sql.add(" FROM pe GROUP BY grp) ")
        arrays = "".join(f", {float_array_bytes(f'a{i}')}" for i in range(k - 1))
        sql.add(f"SELECT 'c', 0, grp, {', '.join(names)}{arrays} FROM g")
        return sql.text, sql.params

    # dd: the days from each stage to the next, for the entities that converted, ranked by
    # ROW_NUMBER() windows (SQLite has no arrays).
    sql.add(", dd AS (")
    for i in range(k - 1):
        if i:
            sql.add(" UNION ALL ")
        sql.add(f"SELECT grp, {i} AS idx, {_days(f'r{i + 1}', f'r{i}')} AS d FROM pe "
                "WHERE ").extend(converted(i))
    sql.add(")")
    windows = ("ROW_NUMBER() OVER (PARTITION BY grp, idx ORDER BY d) AS rn, "
               "COUNT(*) OVER (PARTITION BY grp, idx) AS nd")
    if grouped:
        windows += (", ROW_NUMBER() OVER (PARTITION BY idx ORDER BY d) AS rn_t, "
                    "COUNT(*) OVER (PARTITION BY idx) AS nd_t")
    sql.add(f", ranked AS (SELECT grp, idx, d, {windows} FROM dd) ")
    sql.add("SELECT 'c' AS kind, 0 AS total, grp").extend(counts()).add(" FROM pe GROUP BY grp")

    def picks(rn, nd):
        return (f"MAX({nd}), "
                f"MIN(CASE WHEN {rn} = ({nd} - 1) / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = {nd} / 2 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = (9 * ({nd} - 1)) / 10 + 1 THEN d END), "
                f"MIN(CASE WHEN {rn} = (9 * ({nd} - 1) + 9) / 10 + 1 THEN d END)")

    sql.add(f" UNION ALL SELECT 'p', 0, grp, idx, {picks('rn', 'nd')}{pad} FROM ranked "
            "GROUP BY grp, idx")
    if grouped:
        sql.add(f" UNION ALL SELECT 'p', 1, NULL, idx, {picks('rn_t', 'nd_t')}{pad} "
                "FROM ranked GROUP BY idx")
    return sql.text, sql.params


def _days(later, earlier):
    """The days from `earlier` to `later`. On PostgreSQL a double (date_part), not EXTRACT's
    numeric: the percentiles sort it, and numeric sorts several times slower."""
    if connection.vendor == "postgresql":
        return f"(date_part('epoch', {later} - {earlier}) / 86400)"
    return days_between(later, earlier)


def side_rows(query, side, path, stages):
    """The rows of `side_sql`, run; on PostgreSQL with the day percentiles picked from the
    arrays that end each group's counts row (`_picked`)."""
    sql, params = side_sql(query, side, path, stages)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        return rows
    return _picked(rows, len(path), grouped=bool(query.group_by))


def _picked(rows, k, *, grouped):
    """PostgreSQL's rows in the shape the SQLite statement gives: each "c" row without its
    k - 1 trailing arrays of days, and from each array a "p" row for its group, and when
    grouping one for all groups together (total 1)."""
    pad = (None,) * (3 * k + 1 - 6)
    out, pooled = [], [[] for _ in range(k - 1)]
    for row in rows:
        width = 3 + 3 * k + 1
        out.append(row[:width])
        for i, data in enumerate(row[width:]):
            if data is None:
                continue
            days = float_array_values(data)
            pooled[i].append(days)
            out.append(("p", 0, row[2], i, *_order_statistics(days), *pad))
    if grouped:
        for i, parts in enumerate(pooled):
            if parts:
                out.append(("p", 1, None, i, *_order_statistics(np.concatenate(parts)), *pad))
    return out


def _order_statistics(values):
    """The count and the values at ranks (n-1)/2+1, n/2+1, 9(n-1)/10+1 and (9(n-1)+9)/10+1
    (from 1) of `values` in ascending order: around the median and the 90th percentile (the
    interpolation is `reports._percentile`'s, as percentile_cont does it). Selected, not
    sorted: np.partition puts each rank's value in its place in linear time."""
    n = len(values)
    ranks = [(n - 1) // 2, n // 2, (9 * (n - 1)) // 10, (9 * (n - 1) + 9) // 10]
    chosen = np.partition(values, sorted(set(ranks)))
    return (n, *(float(chosen[rank]) for rank in ranks))
