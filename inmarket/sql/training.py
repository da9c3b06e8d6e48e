"""Reading snapshots for training and scoring: a week at a time, the typed columns with the
funnel stage as its position and (for training) the label computed in the database — did the
account open a deal in (as_of, as_of + horizon]? — by one EXISTS per row on the deals'
(account, opened_at) index. Rows come back as tuples the caller turns into one NumPy array
per week (the scoring's read, with the accounts' current scores, returns the array itself);
the ORM would build a model instance (or a dict) per row, for millions of rows."""

import numpy as np
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
# What `read_scored` reads of the accounts: the numbers come after READ_COLUMNS in its
# array (NULL: NaN, is_6qa as 1.0 or 0.0); the stage, the reasons as JSON text (the scoring
# writes only what changed, and compares the text first) and the surging topics as JSON
# text, None when there are none (the reasons name them, "surging intent on …", for the
# accounts in consideration or later) come as they are.
SCORE_NUMBERS = ["in_market_probability", "is_6qa", "in_market_model_version"]
SCORE_TEXTS = ["buying_stage", "in_market_reasons", "surging_topics"]


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


def _features():
    """READ_COLUMNS as SQL over the snapshot `s` and the funnel stage `st`, as doubles (what
    every caller turns them into: NumPy converts Python floats to an array at twice the
    speed of Python ints, and the cast costs the database nothing measurable; integers of
    these sizes are exact as doubles)."""
    values = []
    for name in READ_COLUMNS:
        if name == "funnel_position":
            value = f"COALESCE(st.{column(Stage, 'position')}, 0)"
        else:
            value = f"s.{column(AccountSnapshot, name)}"
        values.append(f"CAST({value} AS DOUBLE PRECISION)")
    return values


def _statement(select, params, week, *, joins="", labelled_until=None, exclude_open=False,
               lo=None, hi=None, ids=None, after=None, limit=None):
    """(SQL, params) of `select` (its own `params` first) over the week's snapshots `s` with
    their funnel stage `st` and `joins`, ordered by account."""
    snap, stage = table(AccountSnapshot), table(Stage)
    s = {name: f"s.{column(AccountSnapshot, name)}" for name in
         ("account", "week", "as_of", "open_deals", "funnel_stage")}
    sql = (f"{select} FROM {snap} s LEFT JOIN {stage} st ON st.{column(Stage, 'slug')} = "
           f"{s['funnel_stage']}{joins} WHERE {s['week']} = {date()}")
    params = [*params, date_value(week)]
    if labelled_until is not None:
        sql += f" AND {s['as_of']} <= {ts()}"
        params.append(ts_value(labelled_until))
    if exclude_open:
        sql += f" AND {s['open_deals']} = 0"
    if lo is not None or ids is not None:
        where, values = account_filter(s["account"], lo=lo, hi=hi, ids=ids)
        sql += f" AND {where}"
        params += values
    if after is not None:
        sql += f" AND {s['account']} > %s"
        params.append(after)
        if joins:
            # Said of the accounts' key too: PostgreSQL does not carry an inequality across
            # the join's equality, and the merge join would walk the accounts' primary key
            # from the first id in every chunk (the last of 20 chunks read 100,000 ids).
            sql += f" AND a.{column(Account, 'id')} > %s"
            params.append(after)
    sql += f" ORDER BY {s['account']}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(int(limit))
    return sql, params


def read(week, *, labelled_until=None, horizon_days=None, exclude_open=False, lo=None,
         hi=None, ids=None):
    """[(account id, *READ_COLUMNS values (floats, None where empty)[, label])] of the week's
    snapshots; with `labelled_until`, only those as of no later than it, each with its label
    (0/1)."""
    account, as_of = (f"s.{column(AccountSnapshot, name)}" for name in ("account", "as_of"))
    select, params = f"SELECT {account}, {', '.join(_features())}", []
    if labelled_until is not None:
        opp = table(Opportunity)
        o_acc, o_open = column(Opportunity, "account"), column(Opportunity, "opened_at")
        select += (f", CASE WHEN EXISTS (SELECT 1 FROM {opp} o WHERE o.{o_acc} = "
                   f"{account} AND o.{o_open} > {as_of} AND o.{o_open} <= "
                   f"{plus_days(as_of)}) THEN 1 ELSE 0 END")
        params.append(int(horizon_days))
    sql, params = _statement(select, params, week, labelled_until=labelled_until,
                             exclude_open=exclude_open, lo=lo, hi=hi, ids=ids)
    with connection.cursor() as cursor:
        binary_results(cursor)
        cursor.execute(sql, params)
        return cursor.fetchall()


def read_scored(week, *, lo=None, hi=None, ids=None, after=None, limit=None):
    """The scoring's read: the week's snapshots with each account's scores as they stand,
    in one statement (no second query for the current values; the join is on the primary
    key). With `after` and `limit`, the next `limit` accounts by id after `after` (one walk of
    the (week, account) index, no separate read of the ids). Returns (account ids, numbers:
    an array of READ_COLUMNS then SCORE_NUMBERS, one row per account, then a tuple of each
    of SCORE_TEXTS).

    On PostgreSQL a row's numbers come as one value, their doubles end to end
    (`float8send`, exact): a row is then 5 values for the driver to decode instead of 24,
    and NumPy reads the array straight from the bytes."""
    a = {name: f"a.{column(Account, name)}" for name in (*SCORE_NUMBERS, *SCORE_TEXTS)}
    numbers = [*_features(), f"CAST({a['in_market_probability']} AS DOUBLE PRECISION)",
               f"CASE WHEN {a['is_6qa']} THEN 1.0 ELSE 0.0 END",
               f"CAST({a['in_market_model_version']} AS DOUBLE PRECISION)"]
    if is_pg():
        numbers = [" || ".join(f"float8send(COALESCE({value}, 'NaN'::float8))"
                               for value in numbers)]
        texts = [a["buying_stage"], f"{a['in_market_reasons']}::text",
                 f"NULLIF({a['surging_topics']}, '[]'::jsonb)::text"]
    else:
        texts = [a["buying_stage"], a["in_market_reasons"],
                 f"NULLIF({a['surging_topics']}, '[]')"]
    account = f"s.{column(AccountSnapshot, 'account')}"
    joins = f" JOIN {table(Account)} a ON a.{column(Account, 'id')} = {account}"
    sql, params = _statement(f"SELECT {account}, {', '.join([*numbers, *texts])}", [], week,
                             joins=joins, lo=lo, hi=hi, ids=ids, after=after, limit=limit)
    with connection.cursor() as cursor:
        binary_results(cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(READ_COLUMNS) + len(SCORE_NUMBERS)
    if not rows:
        return (), np.empty((0, width)), *([()] * len(SCORE_TEXTS))
    columns = list(zip(*rows, strict=True))
    if is_pg():
        array = np.frombuffer(b"".join(columns[1]), dtype=">f8").reshape(-1, width)
        array = array.astype(np.float64)
        texts = columns[2:]
    else:
        array = np.empty((width, len(rows)), dtype=np.float64)
        for j in range(width):
            array[j] = columns[1 + j]  # None: NaN
        array = array.T
        texts = columns[1 + width:]
    return columns[0], array, *texts
