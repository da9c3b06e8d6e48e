"""Reading snapshots for training and scoring: a week at a time, the typed columns with the
funnel stage as its position and (for training) the label computed in the database — did the
account open a deal in (as_of, as_of + horizon]? — by one EXISTS per row on the deals'
(account, opened_at) index. Rows come back as tuples the caller turns into one NumPy array
per week; the ORM would build a model instance (or a dict) per row, for millions of rows."""

from django.db import connection

from abmcrm.core.db.names import column, table
from funnel.models import Stage
from pipeline.models import Opportunity
from tiers.models import Account

from ..features import SNAPSHOT_COLUMNS
from ..models import AccountSnapshot
from .dialect import (
    account_filter,
    binary_results,
    date,
    date_value,
    is_pg,
    plus_days,
    ts,
    ts_value,
)

# What `read` returns after the account id: the snapshot columns with the funnel stage read
# as its position, then open_deals (the stage rules), then the label.
READ_COLUMNS = [("funnel_position" if name == "funnel_stage" else name)
                for name in SNAPSHOT_COLUMNS] + ["open_deals"]
# What `read(…, with_scores=True)` adds after them: the account's scores as they stand, the
# reasons as JSON text (the scoring writes only what changed, and compares the text first).
# The surging topics come along as JSON text too: the reasons name them ("surging intent on
# …") for the accounts in consideration or later.
SCORE_COLUMNS = ["in_market_probability", "buying_stage", "is_6qa", "in_market_model_version",
                 "in_market_reasons", "surging_topics"]


def weeks(*, until=None):
    """The weeks that have snapshots (as of no later than `until`), oldest first."""
    snap = table(AccountSnapshot)
    week, as_of = column(AccountSnapshot, "week"), column(AccountSnapshot, "as_of")
    sql, params = f"SELECT DISTINCT {week} FROM {snap}", []
    if until is not None:
        sql += f" WHERE {as_of} <= {ts()}"
        params.append(ts_value(until))
    with connection.cursor() as cursor:
        cursor.execute(sql + f" ORDER BY {week}", params)
        return [_date(row[0]) for row in cursor.fetchall()]


def _date(value):
    if isinstance(value, str):
        from datetime import date as date_type

        return date_type.fromisoformat(value)
    return value


def read(week, *, labelled_until=None, horizon_days=None, exclude_open=False, lo=None,
         hi=None, ids=None, after=None, limit=None, with_scores=False):
    """[(account id, *READ_COLUMNS values (floats, None where empty)[, label])] of the week's
    snapshots; with `labelled_until`, only those as of no later than it, each with its label
    (0/1). With `after` and `limit`, the next `limit` accounts by id after `after` (the
    scoring's chunks: one walk of the (week, account) index, no separate read of the ids).
    With `with_scores`, each row ends with the account's SCORE_COLUMNS (one read instead of
    a second query for the current values; the join is on the primary key)."""
    snap, stage = table(AccountSnapshot), table(Stage)
    s = {name: f"s.{column(AccountSnapshot, name)}" for name in
         [*SNAPSHOT_COLUMNS, "account", "week", "as_of", "open_deals"]}
    # The features as doubles (what every caller turns them into): NumPy converts Python
    # floats to an array at twice the speed of Python ints, and the cast in the database
    # costs nothing measurable; integers of these sizes are exact as doubles.
    values = []
    for name in READ_COLUMNS:
        if name == "funnel_position":
            value = f"COALESCE(st.{column(Stage, 'position')}, 0)"
        else:
            value = s[name]
        values.append(f"CAST({value} AS DOUBLE PRECISION)")
    params = []
    select = f"SELECT {s['account']}, {', '.join(values)}"
    if labelled_until is not None:
        opp = table(Opportunity)
        o_acc, o_open = column(Opportunity, "account"), column(Opportunity, "opened_at")
        select += (f", CASE WHEN EXISTS (SELECT 1 FROM {opp} o WHERE o.{o_acc} = "
                   f"{s['account']} AND o.{o_open} > {s['as_of']} AND o.{o_open} <= "
                   f"{plus_days(s['as_of'])}) THEN 1 ELSE 0 END")
        params.append(int(horizon_days))
    joins = ""
    if with_scores:
        accounts = table(Account)
        scores = []
        for name in SCORE_COLUMNS:
            value = f"a.{column(Account, name)}"
            if name in ("in_market_reasons", "surging_topics") and is_pg():
                value = f"{value}::text"
            scores.append(value)
        select += f", {', '.join(scores)}"
        joins = f" JOIN {accounts} a ON a.{column(Account, 'id')} = {s['account']}"
    sql = (f"{select} FROM {snap} s LEFT JOIN {stage} st ON st.{column(Stage, 'slug')} = "
           f"{s['funnel_stage']}{joins} WHERE {s['week']} = {date()}")
    params.append(date_value(week))
    if labelled_until is not None:
        sql += f" AND {s['as_of']} <= {ts()}"
        params.append(ts_value(labelled_until))
    if exclude_open:
        sql += f" AND {s['open_deals']} = 0"
    if lo is not None or ids is not None:
        where, values_ = account_filter(s["account"], lo=lo, hi=hi, ids=ids)
        sql += f" AND {where}"
        params += values_
    if after is not None:
        sql += f" AND {s['account']} > %s"
        params.append(after)
        if with_scores:
            # Said of the accounts' key too: PostgreSQL does not carry an inequality across
            # the join's equality, and the merge join would walk the accounts' primary key
            # from the first id in every chunk (the last of 20 chunks read 100,000 ids).
            sql += f" AND a.{column(Account, 'id')} > %s"
            params.append(after)
    sql += f" ORDER BY {s['account']}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(int(limit))
    with connection.cursor() as cursor:
        binary_results(cursor)
        cursor.execute(sql, params)
        return cursor.fetchall()
