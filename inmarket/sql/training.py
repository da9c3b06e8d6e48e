"""Reading snapshots for training and scoring: a week at a time, the typed columns with the
funnel stage as its position and (for training) the label computed in the database — did the
account open a deal in (as_of, as_of + horizon]? — by one join of the week's snapshots with
the deals opened in its window. Each row's numbers come packed (`_packed`) and become NumPy
arrays at once (`_unpacked`); the ORM would build a model instance (or a dict) per row, for
millions of rows."""

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
    id_batches,
    is_pg,
    plus_days,
    ts,
    ts_value,
)

# The columns of the arrays `read` and `read_scored` return: the snapshot columns with the
# funnel stage read as its position, then open_deals (the stage rules).
READ_COLUMNS = [("funnel_position" if name == "funnel_stage" else name)
                for name in SNAPSHOT_COLUMNS] + ["open_deals"]
# What `read_current` reads of the accounts whose snapshot has no mark: the numbers (NULL:
# NaN, is_6qa as 1.0 or 0.0), then the stage and the reasons as JSON text (the scoring
# writes only what changed, and compares the text first).
SCORE_NUMBERS = ["in_market_probability", "is_6qa", "in_market_model_version"]
SCORE_TEXTS = ["buying_stage", "in_market_reasons"]
# The mark of what the scoring last wrote onto an account (`AccountSnapshot.scores_mark`),
# packed: the probability and model version exactly (big-endian doubles, no version: NaN),
# the stage as its code (`scoring.STAGES`), the 6QA, and a 16-byte BLAKE2b digest of the
# reasons' JSON text. Equal marks: equal scores; `format` tells a mark from none (zeros).
MARK_FORMAT = 1
MARK = np.dtype([("format", "u1"), ("probability", ">f8"), ("version", ">f8"),
                 ("stage", "u1"), ("is_6qa", "u1"), ("reasons", "u1", (16,))])


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


def _statement(select, params, week, *, joins=("", []), labelled_until=None,
               exclude_open=False, lo=None, hi=None, ids=None, after=None, limit=None):
    """(SQL, params) of `select` (its own `params` first) over the week's snapshots `s` with
    their funnel stage `st` and `joins` (SQL, params), ordered by account."""
    snap, stage = table(AccountSnapshot), table(Stage)
    s = {name: f"s.{column(AccountSnapshot, name)}" for name in
         ("account", "week", "as_of", "open_deals", "funnel_stage")}
    sql = (f"{select} FROM {snap} s LEFT JOIN {stage} st ON st.{column(Stage, 'slug')} = "
           f"{s['funnel_stage']}{joins[0]} WHERE {s['week']} = {date()}")
    params = [*params, *joins[1], date_value(week)]
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
    sql += f" ORDER BY {s['account']}"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(int(limit))
    return sql, params


def _labels(week, horizon_days):
    """(SQL, params) of the accounts `acc` whose snapshot of `week` was followed by a deal
    opened in (as_of, as_of + horizon]: one join of the week's snapshots with the deals
    opened in the week's window (the deals' opened_at index), where an EXISTS per snapshot
    probed the deals' (account, opened_at) index 100,000 times a week (0.37–0.54 s against
    0.12–0.20 s a week at full scale)."""
    snap, opp = table(AccountSnapshot), table(Opportunity)
    acc, week_c, as_of = (column(AccountSnapshot, name) for name in ("account", "week", "as_of"))
    o_acc, o_open = column(Opportunity, "account"), column(Opportunity, "opened_at")
    sql = (f"SELECT DISTINCT ls.{acc} AS acc FROM (SELECT MIN({as_of}) AS lo, MAX({as_of}) "
           f"AS hi FROM {snap} WHERE {week_c} = {date()}) b, {snap} ls JOIN {opp} o ON "
           f"o.{o_acc} = ls.{acc} AND o.{o_open} > ls.{as_of} AND o.{o_open} <= "
           f"{plus_days(f'ls.{as_of}')} WHERE ls.{week_c} = {date()} AND o.{o_open} > b.lo "
           f"AND o.{o_open} <= {plus_days('b.hi')}")
    return sql, [date_value(week), int(horizon_days), date_value(week), int(horizon_days)]


def _packed(values, tail=None):
    """The select list of `values` (doubles) and `tail` (bytes): on PostgreSQL one value a
    row, the doubles end to end (`float8send`, exact; NULL as NaN) then the tail, which
    `_unpacked` reads straight into NumPy; elsewhere the columns as they are."""
    if not is_pg():
        return [*values, *([tail] if tail else [])]
    return [" || ".join([*(f"float8send(COALESCE({value}, 'NaN'::float8))"
                           for value in values), *([tail] if tail else [])])]


def _unpacked(rows, width, tail_size=0):
    """(account ids, an array of the `width` doubles a row (NaN where empty), an array of the
    tail's `tail_size` bytes a row) of rows selected as (account id, *`_packed`)."""
    columns = list(zip(*rows, strict=True))
    if is_pg():
        packed = np.frombuffer(b"".join(columns[1]), dtype=np.uint8).reshape(
            len(rows), width * 8 + tail_size)
        array = packed[:, :width * 8].copy().view(">f8").astype(np.float64)
        tail = packed[:, width * 8:]
    else:
        array = np.empty((width, len(rows)), dtype=np.float64)
        for j in range(width):
            array[j] = columns[1 + j]  # None: NaN
        array = array.T
        tail = np.frombuffer(b"".join(map(bytes, columns[1 + width])), dtype=np.uint8
                             ).reshape(len(rows), tail_size) if tail_size else None
    return np.asarray(columns[0], dtype=np.int64), array, tail


def read(week, *, labelled_until=None, horizon_days=None, exclude_open=False, lo=None,
         hi=None, ids=None):
    """(account ids, an array of READ_COLUMNS (NaN where empty), one row per account,
    labels) of the week's snapshots; with `labelled_until`, only those as of no later than
    it, and each one's label (0/1, int8; else None)."""
    account = f"s.{column(AccountSnapshot, 'account')}"
    values, joins = _features(), ("", [])
    if labelled_until is not None:
        labels_sql, labels_params = _labels(week, horizon_days)
        joins = (f" LEFT JOIN ({labels_sql}) lab ON lab.acc = {account}", labels_params)
        values = [*values, "CASE WHEN lab.acc IS NULL THEN 0.0 ELSE 1.0 END"]
    sql, params = _statement(f"SELECT {account}, {', '.join(_packed(values))}", [], week,
                             joins=joins, labelled_until=labelled_until,
                             exclude_open=exclude_open, lo=lo, hi=hi, ids=ids)
    with connection.cursor() as cursor:
        binary_results(cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(READ_COLUMNS)
    if not rows:
        return (np.empty(0, dtype=np.int64), np.empty((0, width)),
                None if labelled_until is None else np.empty(0, dtype=np.int8))
    ids, array, _tail = _unpacked(rows, len(values))
    if labelled_until is None:
        return ids, array, None
    return ids, array[:, :width], array[:, width].astype(np.int8)


def read_scored(week, *, lo=None, hi=None, ids=None, after=None, limit=None):
    """The scoring's read: the week's snapshots with the mark of what the scoring last wrote
    onto each account (`MARK`), in one statement over the snapshots alone (the current
    scores are not read: the mark says them; `read_current` reads the accounts whose
    snapshot has none). With `after` and `limit`, the next `limit` accounts by id after
    `after` (one walk of the (week, account) index, no separate read of the ids). Returns
    (account ids, an array of READ_COLUMNS, one row per account, their marks as an array of
    MARK.itemsize bytes a row: all zeros where there is none).

    On PostgreSQL a row's numbers and mark come as one value, the doubles end to end
    (`float8send`, exact) then the mark: a row is then 2 values for the driver to decode
    instead of 19, and NumPy reads the arrays straight from the bytes."""
    width, size = len(READ_COLUMNS), MARK.itemsize
    mark = stored_mark(f"s.{column(AccountSnapshot, 'scores_mark')}")
    account = f"s.{column(AccountSnapshot, 'account')}"
    sql, params = _statement(f"SELECT {account}, {', '.join(_packed(_features(), mark))}",
                             [], week, lo=lo, hi=hi, ids=ids, after=after, limit=limit)
    with connection.cursor() as cursor:
        binary_results(cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return (), np.empty((0, width)), np.empty((0, size), dtype=np.uint8)
    ids, array, marks = _unpacked(rows, width, size)
    return tuple(ids.tolist()), array, marks


def stored_mark(mark):
    """SQL of the stored mark `mark` (a column) as the scoring reads and compares it: its
    bytes, or MARK.itemsize zero bytes where there is none of that size."""
    size = MARK.itemsize
    if is_pg():
        return f"CASE WHEN octet_length({mark}) = {size} THEN {mark} ELSE " \
               f"'\\x{'00' * size}'::bytea END"
    return f"CASE WHEN length({mark}) = {size} THEN {mark} ELSE zeroblob({size}) END"


def read_current(ids, *, lock=False):
    """The accounts' scores as they stand, for the accounts whose snapshot has no mark (the
    week's first scoring, or after `scoring.marks_clear`): (account ids, an array of
    SCORE_NUMBERS (NULL: NaN, is_6qa as 1.0 or 0.0), then a tuple of each of SCORE_TEXTS),
    by account id; with `lock`, the rows locked as an UPDATE locks them (`FOR NO KEY
    UPDATE`, which inserts of rows pointing at the account do not wait for), where the
    database has row locks. They are locked in id order, the recompute's writes in their
    plan's order: the two can deadlock, as their UPDATEs always could; PostgreSQL breaks it
    and the losing task retries (`OperationalError`)."""
    a = {name: column(Account, name) for name in ("id", *SCORE_NUMBERS, *SCORE_TEXTS)}
    reasons = f"{a['in_market_reasons']}::text" if is_pg() else a["in_market_reasons"]
    locking = ""
    if lock and connection.features.has_select_for_update:
        locking = " " + connection.ops.for_update_sql(
            no_key=connection.features.has_select_for_no_key_update)
    rows = []
    with connection.cursor() as cursor:
        binary_results(cursor)
        for batch in id_batches(list(ids)):
            where, params = account_filter(a["id"], ids=batch)
            cursor.execute(
                f"SELECT {a['id']}, CAST({a['in_market_probability']} AS DOUBLE PRECISION), "
                f"CASE WHEN {a['is_6qa']} THEN 1.0 ELSE 0.0 END, "
                f"CAST({a['in_market_model_version']} AS DOUBLE PRECISION), "
                f"{a['buying_stage']}, {reasons} FROM {table(Account)} WHERE {where} "
                f"ORDER BY {a['id']}{locking}", params)
            rows += cursor.fetchall()
    if not rows:
        return (), np.empty((0, len(SCORE_NUMBERS))), *([()] * len(SCORE_TEXTS))
    columns = list(zip(*rows, strict=True))
    numbers = np.array(columns[1:4], dtype=np.float64).T  # None: NaN
    return columns[0], numbers, *columns[4:]
