"""The per-deal touch table (`DealTouch`): its refresh for a set of accounts, and the
attribution read from it.

Computing attribution per request ranks every deal's touches again (one sort of every
account's timeline and three window passes: ~20 × a scan of the touches at 5,000,000). The
ranks only change when a touch, a milestone or a deal of the account is written, so they are
computed then, for that account's deals, and stored as one row per deal and campaign with
the weight of each model. The report is then one join of a period's rows to its deals and a
GROUP BY campaign.

The weights are those of `attribution.attribution_sql` (the same touches, windows, ties
and keys; see its docstring), computed here by pairing each deal with the touches of its
window — affordable for a few accounts at a time, which is all a write or a rebuild chunk
asks for:

- a deal's window: its account's distinct touches with days(at) in [days(opened) -
  lookback, days(opened)] (the per-request statement's RANGE frame, the same doubles);
- ranks by (time, campaign id): rn 1 is the first touch, n the last;
- the W-shaped middle key: the last touch of the window at or before the account's latest
  milestone (a lead created, a move to the handoff stage) at or before the deal opened, or
  the first touch when there is none in the window;
- time decay: 2^((days(touch) - days(deal)) / half-life) over their sum in the window (the
  per-request statement counts from the account's first touch instead: the same ratio).

Table and column names come from the models' `_meta`."""

import time
from datetime import timedelta

from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table
from abmcrm.core.db.sqltext import Sql
from funnel.models import Lead, StageTransition

from ..models import DealTouch, DealTouchPending, Opportunity
from .attribution import WON, _days, _ids, touches_sql
from .common import as_float, jit_off, jit_restore, param

WEIGHTS = ("first", "last", "linear", "u_shaped", "w_shaped", "time_decay")


def _accounts(account_ids):
    """Sql of the account ids, inline (integers only: no parameter limit to meet)."""
    return Sql(_ids(account_ids))


def _weights(half_life_days):
    """{model: SQL of a touch's weight} over its row's rn (rank in the window), n (touches
    in the window), mk (W-shaped middle key's rank), k (distinct keys), pd and z (its
    time-decay factor and the window's sum of them). The expressions of
    `attribution._spread` and `attribution._keys`, per touch instead of per ledger entry."""
    su = f"CASE WHEN n <= 2 THEN 0.0 ELSE 0.2 / {as_float('n - 2')} END"
    sw = (f"CASE WHEN n = k THEN 0.1 / {as_float('n')} "
          f"ELSE 0.1 / {as_float('n - k')} END")
    corr = f"CASE WHEN n = k THEN 0.0 ELSE {sw} END"
    u_key_first = f"CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 ELSE 0.4 - ({su}) END"
    u_key_last = f"CASE WHEN n = 1 THEN 0.0 WHEN n = 2 THEN 0.5 ELSE 0.4 - ({su}) END"
    return {
        "first": "CASE WHEN rn = 1 THEN 1.0 ELSE 0.0 END",
        "last": "CASE WHEN rn = n THEN 1.0 ELSE 0.0 END",
        "linear": f"1.0 / {as_float('n')}",
        "u_shaped": (f"({su}) + CASE WHEN rn = 1 THEN {u_key_first} ELSE 0.0 END "
                     f"+ CASE WHEN rn = n THEN {u_key_last} ELSE 0.0 END"),
        "w_shaped": (f"({sw}) + CASE WHEN rn = 1 THEN 0.3 - ({corr}) ELSE 0.0 END "
                     f"+ CASE WHEN rn = mk THEN 0.3 - CASE WHEN mk <> 1 AND mk <> n "
                     f"THEN {corr} ELSE 0.0 END ELSE 0.0 END "
                     f"+ CASE WHEN rn = n THEN 0.3 - CASE WHEN n <> 1 THEN {corr} ELSE 0.0 END "
                     "ELSE 0.0 END"),
        "time_decay": f"pd / {as_float('z')}",
    }


def refresh_sql(*, account_ids, lookback_days, half_life_days, middle_stage_ids,
                deal_ids=None, opened_between=None):
    """[Sql]: delete the rows of these accounts' deals (or only of `deal_ids`, deals of these
    accounts: new deals without a campaign, which are no touch of another deal), insert them
    again computed from the touches, milestones and deals as stored now. `opened_between`:
    (earliest, latest) opening of the deals redone, to read only the touches their windows
    can hold (a day wider than the windows, which compare days as doubles)."""
    d, dt, lead, t = Opportunity, DealTouch, Lead, StageTransition
    accounts = _accounts(account_ids)
    if deal_ids is not None:
        deals = Sql(_ids(deal_ids))
        deals_where = Sql(f"o.{column(d, 'id')} IN (").extend(deals).add(")")
        delete = Sql(f"DELETE FROM {table(dt)} WHERE {column(dt, 'opportunity')} IN (")
        delete.extend(deals).add(")")
    else:
        deals_where = Sql(f"o.{column(d, 'account')} IN (").extend(accounts).add(")")
        delete = Sql(f"DELETE FROM {table(dt)} WHERE {column(dt, 'opportunity')} IN "
                     f"(SELECT {column(d, 'id')} FROM {table(d)} "
                     f"WHERE {column(d, 'account')} IN (")
        delete.extend(accounts).add("))")
    days, half = float(int(lookback_days)), float(half_life_days)
    sql = Sql(f"INSERT INTO {table(dt)} ({column(dt, 'opportunity')}, {column(dt, 'campaign')}, "
              f"{column(dt, 'opened_at')}, "
              + ", ".join(column(dt, name) for name in WEIGHTS) + ") ")
    sql.add(f"WITH deals AS (SELECT o.{column(d, 'id')} AS did, o.{column(d, 'account')} AS aid, "
            f"o.{column(d, 'opened_at')} AS at, {_days('o.' + column(d, 'opened_at'))} AS x "
            f"FROM {table(d)} o WHERE ").extend(deals_where).add(")")
    low = high = None
    if opened_between is not None:
        low = opened_between[0] - timedelta(days=int(lookback_days) + 1)
        high = opened_between[1] + timedelta(days=1)
    sql.add(", touches AS (").extend(touches_sql(low=low, high=high, accounts=accounts))
    sql.add(f"), tx AS (SELECT aid, cid, {_days('at')} AS x FROM touches)")
    # The milestones of the W-shaped middle key: leads created, moves to the handoff.
    sql.add(f", ms AS (SELECT l.{column(lead, 'account')} AS aid, "
            f"{_days('l.' + column(lead, 'created_at'))} AS x FROM {table(lead)} l "
            f"WHERE l.{column(lead, 'account')} IN (").extend(accounts).add(")")
    sql.add(f" UNION ALL SELECT t.{column(t, 'account')}, "
            f"{_days('t.' + column(t, 'occurred_at'))} FROM {table(t)} t "
            f"WHERE t.{column(t, 'to_stage')} IN ({_ids(middle_stage_ids)}) "
            f"AND t.{column(t, 'account')} IN (").extend(accounts).add("))")
    sql.add(", dm AS (SELECT deals.did, MAX(ms.x) AS mx FROM deals JOIN ms "
            "ON ms.aid = deals.aid AND ms.x <= deals.x GROUP BY deals.did)")
    sql.add(", pairs AS (SELECT deals.did, deals.at AS dat, deals.x AS dx, tx.cid, tx.x "
            f"FROM deals JOIN tx ON tx.aid = deals.aid AND tx.x <= deals.x "
            f"AND tx.x >= deals.x - {days})")
    decay = f"POWER(2.0, (pairs.x - pairs.dx) / {half})"
    sql.add(", r AS (SELECT pairs.did, pairs.dat, pairs.cid, "
            "ROW_NUMBER() OVER (PARTITION BY pairs.did ORDER BY pairs.x, pairs.cid) AS rn, "
            "COUNT(*) OVER (PARTITION BY pairs.did) AS n, "
            "SUM(CASE WHEN pairs.x <= dm.mx THEN 1 ELSE 0 END) "
            "OVER (PARTITION BY pairs.did) AS mc, "
            f"{decay} AS pd, SUM({decay}) OVER (PARTITION BY pairs.did) AS z "
            "FROM pairs LEFT JOIN dm ON dm.did = pairs.did)")
    sql.add(", r2 AS (SELECT r.*, CASE WHEN mc >= 1 THEN mc ELSE 1 END AS mk FROM r)")
    sql.add(", r3 AS (SELECT r2.*, 1 + CASE WHEN mk <> 1 AND mk <> n THEN 1 ELSE 0 END "
            "+ CASE WHEN n <> 1 THEN 1 ELSE 0 END AS k FROM r2) ")
    weights = _weights(half_life_days)
    sql.add("SELECT did, cid, dat, "
            + ", ".join(f"SUM({as_float(weights[name])})" for name in WEIGHTS)
            + " FROM r3 GROUP BY did, cid, dat")
    return [delete, sql]


# The advisory lock of `lock_refreshes` (a constant of this app's own).
LOCK_CLASS, LOCK_ID = 0x0DEA1, 0


def lock_refreshes():
    """PostgreSQL: take the transaction's lock of the deal touch refreshes (held until it
    ends; taking it again is a no-op). One lock for every account, not one per account:
    a transaction often refreshes twice (a lead import's entries, then its leads), and two
    such transactions taking per-account locks in two rounds could each wait for the other;
    one lock cannot deadlock with itself, and a 10,000-row load does not fill PostgreSQL's
    lock table. The price: writes that refresh deal touches commit one at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, LOCK_ID])
        cursor.fetchall()


# A second lock of the class: held (per session) by the task working the queue.
QUEUE_LOCK_ID = 1


def try_lock_queue():
    """PostgreSQL: take the queue's session lock if it is free; whether it was taken."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, QUEUE_LOCK_ID])
        return cursor.fetchone()[0]


def unlock_queue():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, QUEUE_LOCK_ID])
        cursor.fetchall()


def wait_for_older_transactions(*, timeout, poll=0.2):
    """PostgreSQL: wait until every transaction that had written when this was called has
    ended (as CREATE INDEX CONCURRENTLY waits), at most `timeout` seconds. Returns whether
    they all did. A rebuild marks the table "building" and then waits: a write that read
    the state before and so skipped its refresh has committed by then, and the rebuild's
    chunks read it."""
    assert not connection.in_atomic_block, "would wait for its own transaction"
    with connection.cursor() as cursor:
        # A transaction id of our own (its statement commits at once): every transaction
        # that wrote before it has a smaller one, and a refresh always follows its write.
        # (A snapshot's xmax is no such horizon: the newest running transaction can equal
        # it.)
        cursor.execute("SELECT pg_current_xact_id()::text")
        horizon = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot()) > %s::xid8",
                           [horizon])
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


def refresh(**kwargs):
    """Run `refresh_sql` in the caller's transaction; on PostgreSQL with JIT compilation off
    for its statements (put back after). A statement of 1,000 deals passes `jit_above_cost`,
    and compiling its expressions took 80 ms of its 0.73 s at 5,000,000 touches, for rows
    that are read once."""
    assert connection.in_atomic_block, "a refresh deletes and inserts: one transaction"
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        previous = jit_off(cursor) if pg else None
        for statement in refresh_sql(**kwargs):
            cursor.execute(statement.text, statement.params)
        if pg:
            jit_restore(cursor, previous)


def mark_pending(deal_ids, *, now):
    """Queue these deals' rows for the task (`DealTouchPending`): one statement a batch,
    the ids as one JSON document on PostgreSQL; a deal queued already stays queued."""
    p = DealTouchPending
    now = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        for head, params in rowsets.batches([("deal", "int")], [[pk] for pk in deal_ids],
                                            extra_params=1):
            cursor.execute(f"{head} INSERT INTO {table(p)} ({column(p, 'opportunity')}, "
                           f"{column(p, 'queued_at')}) SELECT deal, %s FROM v "
                           # (SQLite reads an ON after FROM v as a join's without a WHERE)
                           f"WHERE 1 = 1 ON CONFLICT ({column(p, 'opportunity')}) DO NOTHING",
                           [*params, now])


def pending(limit, opened_between=None):
    """[(deal id, account id or None, opened at or None)]: the first `limit` queued deals by
    id, with their account and opening as stored now (None: the deal is gone);
    `opened_between` ([start, end)): only the deals opened then. A LEFT JOIN, which the ORM
    would not write for a required one-to-one key: the queue rows of deleted deals must come
    back too, to be taken off the queue."""
    d, p = Opportunity, DealTouchPending
    sql = Sql(f"SELECT p.{column(p, 'opportunity')}, o.{column(d, 'account')}, "
              f"o.{column(d, 'opened_at')} FROM {table(p)} p "
              f"LEFT JOIN {table(d)} o ON o.{column(d, 'id')} = p.{column(p, 'opportunity')} ")
    if opened_between is not None:
        sql.add(f"WHERE o.{column(d, 'opened_at')} >= %s AND o.{column(d, 'opened_at')} < %s ",
                param(opened_between[0]), param(opened_between[1]))
    sql.add(f"ORDER BY p.{column(p, 'opportunity')} LIMIT %s", int(limit))
    return sql.run()


def read_sql(*, model, start, end, deal_filter=None, deal_accounts=None):
    """Sql of the same rows as `attribution.attribution_sql` (("c", campaign, deals,
    pipeline, won) exact sums, ("u", …) and ("t", …)), read from the table: the period's
    rows joined to their deals (for the amounts, which moves change), summed by campaign.
    A deal's first-touch row (weight exactly 1) counts it as attributed, so the
    unattributed figures are the totals minus those, in the same pass. `deal_accounts`:
    an Sql of the accounts whose deals count (the ROI's), or None. A row ("p", NULL, n, 0, 0)
    counts the period's deals whose rows are still queued (`DealTouchPending`): in the
    statement's own snapshot, so that a caller that finds none knows every deal read had
    its rows."""
    assert model in WEIGHTS
    d, dt, p = Opportunity, DealTouch, DealTouchPending
    amount = f"COALESCE(o.{column(d, 'amount')}, 0)"
    sql = Sql(f"WITH deals AS (SELECT o.{column(d, 'id')} AS did, {amount} AS amount, "
              f"CASE WHEN o.{column(d, 'status')} = '{WON}' THEN {amount} ELSE 0 END AS won "
              f"FROM {table(d)} o WHERE o.{column(d, 'opened_at')} >= %s "
              f"AND o.{column(d, 'opened_at')} < %s", param(start), param(end))
    if deal_filter is not None:
        sql.add(f" AND o.{column(d, 'id')} IN ({deal_filter[0]})", *deal_filter[1])
    if deal_accounts is not None:
        sql.add(f" AND o.{column(d, 'account')} IN (").extend(deal_accounts).add(")")
    w = f"dt.{column(dt, model)}"
    sql.add(f"), c AS (SELECT dt.{column(dt, 'campaign')} AS cid, SUM({w}) AS cd, "
            f"SUM({w} * deals.amount) AS ca, SUM({w} * deals.won) AS cw, "
            f"SUM(CASE WHEN dt.{column(dt, 'first')} = 1.0 THEN 1 ELSE 0 END) AS ad, "
            f"SUM(CASE WHEN dt.{column(dt, 'first')} = 1.0 THEN deals.amount ELSE 0 END) AS aa, "
            f"SUM(CASE WHEN dt.{column(dt, 'first')} = 1.0 THEN deals.won ELSE 0 END) AS aw "
            f"FROM {table(dt)} dt JOIN deals ON deals.did = dt.{column(dt, 'opportunity')} "
            f"WHERE dt.{column(dt, 'opened_at')} >= %s AND dt.{column(dt, 'opened_at')} < %s "
            f"GROUP BY dt.{column(dt, 'campaign')})", param(start), param(end))
    sql.add(", t AS (SELECT COUNT(*) AS n, SUM(amount) AS a, SUM(won) AS w FROM deals) "
            "SELECT 'c', cid, cd, ca, cw FROM c "
            "UNION ALL SELECT 'u', NULL, MAX(t.n) - COALESCE(SUM(c.ad), 0), "
            "MAX(t.a) - COALESCE(SUM(c.aa), 0), MAX(t.w) - COALESCE(SUM(c.aw), 0) "
            "FROM t LEFT JOIN c ON 1 = 1 "
            "UNION ALL SELECT 't', NULL, n, a, w FROM t "
            f"UNION ALL SELECT 'p', NULL, COUNT(*), 0, 0 FROM {table(p)} p "
            f"JOIN deals ON deals.did = p.{column(p, 'opportunity')}")
    return sql
