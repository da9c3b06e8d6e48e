"""The dual-funnel report's SQL, one statement per side: per entity, the first time it reached
each stage of its path ("reaching a stage implies having passed the earlier ones": the first
time at that stage *or any later one*) is the earliest of the first-reached columns of its
state row (`reached_<slot>_at`, kept by the transition service) for that stage and the later
ones; the per-stage figures are then aggregates over entities, and the median / 90th
percentile of the days to the next stage are picked with ROW_NUMBER() and COUNT() windows
(percentile_cont's interpolation, done the same way on SQLite and PostgreSQL). The entities
are read, not their history: see docs/internals/design-decisions.md. Table and column names
come from the models' `_meta`."""

from django.db import connection

from abmcrm.core.db.names import column, days_between, month_of, table
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


def side_sql(query, side, path, stages):
    """(sql, params) of one side's report along its `path`. Rows are ("c", total, grp, then
    reached, converted, lost for each stage of the path, then won amount) — the counts — and ("p",
    total, grp, idx, n, median low, median high, p90 low, p90 high, NULL…) — the day
    percentiles, picked from the entities that converted only (the window sorts stay small).
    `total` is 1 on the overall rows when grouping.

    The entities' state rows are read, not their history: a built-in stage's first time is
    a column of the row (`reached_<slot>_at`). The history is read only through its
    (stage, time) index, for what the rows don't hold: the won amounts, the period's moves to
    lost, and the first times at stages an admin added (no column)."""
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
    sql = _Sql()

    # h: per entity, from the history, what its state row doesn't hold. Only the transitions
    # to the stages asked for are read (the (to_stage, occurred_at) index).
    extra = [s for s in path if not state.reached_field(s)]
    first = {s.pk: (f"e.{column(state, state.reached_field(s))}" if state.reached_field(s)
                    else f"h.x{s.pk}") for s in path}
    history = _Sql()
    for stage in extra:
        history.add(f", MIN(CASE WHEN t.{to} = {stage.pk} THEN t.{at} END) AS x{stage.pk}")
    period_bounds = f" AND t.{at} >= %s AND t.{at} < %s"
    if won:
        history.add(f", SUM(CASE WHEN t.{to} IN ({_ids(won)})")
        if period:
            history.add(period_bounds, start, end)
        history.add(f" THEN t.{amount} END) AS won_amount")
    if period:
        for i, stage in enumerate(path):
            history.add(f", MAX(CASE WHEN t.{to} IN ({_ids(lost)}) AND t.{frm} = {stage.pk}"
                        f"{period_bounds} THEN 1 ELSE 0 END) AS l{i}", start, end)
    wanted = [*extra, *won, *(lost if period else ())]
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
        if period:
            sql.add(f", COALESCE(h.l{i}, 0) AS l{i}")
        else:
            sql.add(f", CASE WHEN e.{cur} IN ({_ids(lost)}) AND e.{prev} = {stage.pk} "
                    f"THEN 1 ELSE 0 END AS l{i}")
    sql.add(f", {'COALESCE(h.won_amount, 0)' if won else '0'} AS won_amount "
            f"FROM {source}{join}")
    sql.params += history_params
    if period:
        # The entities with a transition in the period: its last one is at or after the
        # start and its first before the end (the state row narrows, the index decides).
        sql.add(f" WHERE e.{changed} >= %s AND e.{entered} < %s AND EXISTS (SELECT 1 FROM "
                f"{transitions} w WHERE w.{fk} = {eid} AND w.{at} >= %s AND w.{at} < %s)",
                start, end, start, end)
    else:
        sql.add(f" WHERE e.{entered} >= %s AND e.{entered} < %s", start, end)
    sql.add(")")

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
