"""The pipeline report's SQL: one statement, one pass over the deals it needs.

Each deal contributes facts keyed by its group: on its opening side (opened in the period, its
pipeline; open at the end of the period, its amount and weighted amount then) and on its
closing side (won or lost in the period, its won revenue and cycle). Grouped by month, the
two sides fall in different months (opened in March, won in May), so a deal then yields two
fact rows; otherwise one. The facts are summed per group in one hashed aggregation (which
PostgreSQL runs in parallel); the totals are the groups' sums. The median cycle: on
PostgreSQL the same pass collects each group's won cycles into an array and NumPy takes
their median as percentile_cont does (`_medians`); on SQLite the deals won in the period are
read through the index on `closed_at` and ranked by ROW_NUMBER() and COUNT() windows (the
same interpolation).

"Open at the end": a deal whose stage has not changed since the end is at its current stage;
one that changed since is at the stage of its last change before the end (its history), or,
loaded closed with no history before its close, open at an unknown stage (counted, not
weighted). Table and column names come from the models' `_meta`."""

import numpy as np
from django.db import connection

from abmcrm.core.db.aggregates import (
    float_array_agg,
    float_array_bytes,
    float_array_values,
    percentile_cont,
)
from abmcrm.core.db.names import column, days_between, month_of, table
from abmcrm.core.db.sqltext import Sql
from funnel.models import Stage, StageTransition
from tiers.models import Account

from ..models import Opportunity, OpportunityStageChange
from .common import param, round_money, run_without_jit

FIGURES = ("opened", "pipeline", "won", "lost", "won_revenue", "open", "open_amount",
           "weighted_open")


def _c(name, alias="o"):
    return f"{alias}.{column(Opportunity, name)}"


def _ids(values):
    return ", ".join(str(int(value)) for value in values) or "NULL"


def _abm_stage_ids():
    return list(Stage.objects.filter(side=Stage.Side.ABM).values_list("pk", flat=True))


def group_expressions(group_by):
    """(SQL of the opening side's group key, of the closing side's, joins needed)."""
    joins = []
    if group_by == "month":
        return month_of(_c("opened_at")), month_of(_c("closed_at")), joins
    if group_by == "tier":
        joins.append(f"LEFT JOIN {table(Account)} a ON a.{column(Account, 'id')} = "
                     f"{_c('account')}")
        key = f"a.{column(Account, 'tier')}"
    elif group_by == "side":
        # ABM: the account was a target account (it had reached one of the ABM side's own
        # stages: target, engaged, qualified) before the deal opened, and no lead brought
        # the deal; else demand generation. An account that entered the funnel through a
        # deal was never targeted.
        t = StageTransition
        joins.append(
            f"LEFT JOIN (SELECT t.{column(t, 'account')} AS aid, "
            f"MIN(t.{column(t, 'occurred_at')}) AS at FROM {table(t)} t "
            f"WHERE t.{column(t, 'to_stage')} IN ({_ids(_abm_stage_ids())}) "
            f"GROUP BY t.{column(t, 'account')}) tg ON tg.aid = {_c('account')}")
        key = (f"CASE WHEN {_c('lead')} IS NULL AND tg.at IS NOT NULL "
               f"AND tg.at < {_c('opened_at')} THEN 'abm' ELSE 'demand_gen' END")
    elif group_by:
        key = _c({"owner": "owner", "product": "product", "channel": "channel",
                  "campaign": "campaign", "account": "account"}[group_by])
    else:
        key = "0"
    return key, key, joins


def _cycle_days():
    """SQL of a deal's days from opened to closed. On PostgreSQL a double (date_part), which
    percentile_cont takes as is: EXTRACT's numeric would be cast, row by row, and sorted
    slower; both are the exact seconds, divided once."""
    if connection.vendor == "postgresql":
        return f"(date_part('epoch', {_c('closed_at')} - {_c('opened_at')}) / 86400.0)"
    return days_between(_c("closed_at"), _c("opened_at"))


def _false():
    return "FALSE" if connection.vendor == "postgresql" else "0"


def _weighted_sum():
    """Σ of each open deal's weighted amount, rounded to the cent deal by deal. On PostgreSQL
    as Σ round(amount × probability) ÷ 100, once per group: the same cents (an amount has two
    decimals and a probability is a whole percentage, so rounding amount × p to a whole number
    rounds amount × p ÷ 100 to the cent, halves away from zero as ROUND(…, 2) does; amounts
    are never negative), without a numeric division and cast a deal."""
    if connection.vendor == "postgresql":
        return "SUM(ROUND(amount_end * COALESCE(prob_end, 0))) FILTER (WHERE is_open) / 100"
    weighted = round_money("amount_end * COALESCE(prob_end, 0) / 100.0")
    return f"SUM({weighted}) FILTER (WHERE is_open)"


def _probability(column_sql, stages):
    """A stage's probability without a join: CASE over the (few) stages' ids."""
    whens = " ".join(f"WHEN {int(st.pk)} THEN {int(st.probability)}" for st in stages)
    return f"CASE {column_sql} {whens} ELSE 0 END" if whens else "0"


def report_sql(*, start, end, group_by, stages, history, deal_filter=None):
    """(sql, params): rows ("c", 0, group, then FIGURES, NULL) — per group; the totals are
    their sums — and ("m", total, group, NULLs, the median cycle in days), `total` 1 on the
    overall median. `history`: whether some deal the period concerns moved after its end
    (then its stage at the end is read from its history)."""
    start, end = param(start), param(end)
    pg = connection.vendor == "postgresql"
    o, ch = table(Opportunity), table(OpportunityStageChange)
    closed = {st.pk for st in stages if st.is_closed}
    go, gc, joins = group_expressions(group_by)
    split = go != gc
    sql = Sql()
    where_filter = Sql()
    if deal_filter is not None:
        where_filter.add(f" AND {_c('id')} IN ({deal_filter[0]})", *deal_filter[1])
    amount = f"COALESCE({_c('amount')}, 0)"
    closed_in = f"{_c('closed_at')} >= %s AND {_c('closed_at')} < %s"
    open_then = Sql(f"CASE WHEN {_c('opened_at')} >= %s THEN 0 ", end)
    if history:
        # asof: the stage and amount at the end of the deals that moved since.
        c = OpportunityStageChange
        sql.add(f"WITH asof AS (SELECT c.{column(c, 'opportunity')} AS id, "
                f"c.{column(c, 'to_stage')} AS sid, c.{column(c, 'amount')} AS amount, "
                f"ROW_NUMBER() OVER (PARTITION BY c.{column(c, 'opportunity')} "
                f"ORDER BY c.{column(c, 'at')} DESC, c.{column(c, 'id')} DESC) AS rn "
                f"FROM {ch} c JOIN {o} o ON {_c('id')} = c.{column(c, 'opportunity')} "
                f"WHERE {_c('stage_changed_at')} >= %s AND {_c('opened_at')} < %s "
                f"AND c.{column(c, 'at')} < %s", end, end, end)
        sql.extend(where_filter).add("), ")
        moved = f"{_c('stage_changed_at')} >= %s"
        open_then.add(f"WHEN NOT ({moved}) THEN CASE WHEN {_c('status')} = 'open' THEN 1 "
                      "ELSE 0 END WHEN asof.sid IS NULL THEN 1 "
                      f"WHEN asof.sid IN ({_ids(closed)}) THEN 0 ELSE 1 END", end)
        amount_end = Sql(f"CASE WHEN {moved} THEN COALESCE(asof.amount, {_c('amount')}, 0) "
                         f"ELSE {amount} END", end)
        prob_end = Sql(f"CASE WHEN {moved} THEN {_probability('asof.sid', stages)} "
                       f"ELSE {_probability(_c('stage'), stages)} END", end)
        history_join = f"LEFT JOIN asof ON asof.id = {_c('id')} AND asof.rn = 1 "
    else:
        sql.add("WITH ")
        open_then.add(f"WHEN {_c('status')} = 'open' THEN 1 ELSE 0 END")
        amount_end = Sql(amount)
        prob_end = Sql(_probability(_c("stage"), stages))
        history_join = ""

    # d: the deals the period concerns, with their figures' ingredients: a flag per side
    # (a condition, true or false) and the amounts, summed below only where a flag holds.
    sql.add(f"d AS (SELECT {go} AS go, {gc} AS gc, "
            f"({_c('opened_at')} >= %s AND {_c('opened_at')} < %s) AS is_opened, ", start, end)
    sql.add(f"({_c('status')} = 'won' AND {closed_in}) AS is_won, ", start, end)
    sql.add(f"({_c('status')} = 'lost' AND {closed_in}) AS is_lost, ", start, end)
    sql.add(f"{_c('amount')} AS amount, ")
    if pg:
        sql.add(f"{_cycle_days()} AS cycle, ")
    # Open at the end, and its amount and probability then.
    sql.add("(").extend(open_then).add(" = 1) AS is_open, ").extend(amount_end).add(
        " AS amount_end, ")
    sql.extend(prob_end).add(f" AS prob_end FROM {o} o {history_join}{' '.join(joins)} WHERE (")
    sql.add(f"({_c('opened_at')} >= %s AND {_c('opened_at')} < %s) OR ({closed_in}) "
            f"OR ({_c('opened_at')} < %s AND ({_c('closed_at')} IS NULL "
            f"OR {_c('closed_at')} >= %s OR {_c('stage_changed_at')} >= %s)))",
            start, end, start, end, end, end, end)
    sql.extend(where_filter)

    # facts: the rows summed per group. Grouped by month, a deal's two sides may fall in
    # different months: its opening side (opened, open at the end) and its closing side
    # (won or lost) are then two rows, each keeping only its own side's flags.
    if split:
        opening_cycle, closing_cycle = (", NULL::float8 AS cycle", ", cycle") if pg else ("", "")
        sql.add("), facts AS (SELECT go AS grp, is_opened, is_open, "
                f"{_false()} AS is_won, {_false()} AS is_lost, amount, amount_end, prob_end"
                f"{opening_cycle} FROM d WHERE is_opened OR is_open "
                f"UNION ALL SELECT gc, {_false()}, {_false()}, is_won, is_lost, amount, "
                f"amount_end, prob_end{closing_cycle} FROM d WHERE is_won OR is_lost)")
    else:
        sql.add("), facts AS (SELECT go AS grp, d.* FROM d)")
    # Each figure sums only the rows its flag selects (FILTER), so a deal costs a few
    # comparisons and the sums it belongs to, not a product per figure.
    sums = ("COUNT(*) FILTER (WHERE is_opened), SUM(amount) FILTER (WHERE is_opened), "
            "COUNT(*) FILTER (WHERE is_won), COUNT(*) FILTER (WHERE is_lost), "
            "SUM(amount) FILTER (WHERE is_won), COUNT(*) FILTER (WHERE is_open), "
            f"SUM(amount_end) FILTER (WHERE is_open), {_weighted_sum()}")

    if pg:
        # The won deals' cycles, collected in the same pass (in parallel, abmcrm.core.db.
        # aggregates) and sent in binary after the group's sums: `report_rows` takes the
        # median of each group's and of all of them, where percentile_cont would sort the
        # won deals twice (per group, then in total) in one process.
        cycles = float_array_bytes(f"{float_array_agg('cycle')} FILTER (WHERE is_won)")
        return sql.add(f" SELECT 'c', 0, grp, {sums}, NULL, {cycles} FROM facts GROUP BY grp")

    # won: the deals won in the period, read on their own through the index of closing
    # times, for the median cycle (a sort of these only; the sums above hash).
    sql.add(f", won AS (SELECT {gc} AS grp, {_cycle_days()} "
            f"AS v FROM {o} o {' '.join(joins)} WHERE {_c('status')} = 'won' "
            f"AND {closed_in}", start, end)
    sql.extend(where_filter)
    sql.add(")")
    sql.add(", cyc AS (SELECT grp, v, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY v) AS rn, "
                "COUNT(*) OVER (PARTITION BY grp) AS n, ROW_NUMBER() OVER (ORDER BY v) AS rn_t, "
                "COUNT(*) OVER () AS n_t FROM won)")
    # The sums per group, in one hashed aggregation; the totals are their sums. The median
    # cycle per group and in total.
    sql.add(f" SELECT 'c', 0, grp, {sums}, NULL FROM facts GROUP BY grp")
    nulls = ", ".join(["NULL"] * len(FIGURES))
    # SQLite has no percentile_cont: the median is picked by ROW_NUMBER() and COUNT()
    # windows (its interpolation: the mean of the one or two middle values).
    return sql.add(
        f" UNION ALL SELECT 'm', 0, grp, {nulls}, (MIN(CASE WHEN rn = (n - 1) / 2 + 1 THEN v "
        "END) + MIN(CASE WHEN rn = n / 2 + 1 THEN v END)) / 2.0 FROM cyc GROUP BY grp "
        f"UNION ALL SELECT 'm', 1, NULL, {nulls}, "
        "(MIN(CASE WHEN rn_t = (n_t - 1) / 2 + 1 THEN v END) "
        "+ MIN(CASE WHEN rn_t = n_t / 2 + 1 THEN v END)) / 2.0 FROM cyc HAVING COUNT(*) > 0")


def report_rows(**kwargs):
    """The rows of `report_sql`, run; on PostgreSQL with the median rows worked out from the
    cycles that end each group's row (`_medians`)."""
    rows = run_without_jit(report_sql(**kwargs))
    return _medians(rows) if connection.vendor == "postgresql" else rows


def _medians(rows):
    """PostgreSQL's rows in the shape the SQLite statement gives: each "c" row without its
    trailing array of won cycles, and an "m" row with the median of each group's cycles and
    one (total 1) of all of them: percentile_cont(0.5), the same double."""
    nulls = (None,) * len(FIGURES)
    out, pooled = [], []
    for row in rows:
        *counts, data = row
        out.append(tuple(counts))
        cycles = float_array_values(data) if data is not None else None
        if cycles is not None and len(cycles):
            pooled.append(cycles)
            out.append(("m", 0, row[2], *nulls, percentile_cont(cycles, 0.5)))
    if pooled:
        out.append(("m", 1, None, *nulls, percentile_cont(np.concatenate(pooled), 0.5)))
    return out
