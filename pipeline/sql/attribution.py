"""Multi-touch attribution and the campaign ROI's lift, in SQL.

Touches: an account's program orders placed (not rejected or cancelled) for a campaign's
item, its engagement events whose `source` is a campaign's code, funnel transitions with a
campaign (the account's own, and its leads'), its leads with a campaign (at their creation)
and its deals with a campaign (at their opening). One campaign touching an account at the same
moment through several records (an event and the automatic funnel move it caused) is one
touch: `SELECT DISTINCT account, campaign, at`.

A deal's touches are its account's, at or before it opened and at most the lookback before;
they are ordered by time, ties by campaign id. Each model gives every touch a weight, the
weights of a deal summing to 1 (see `attribution_sql` for how, without pairing deals and
touches). The statement answers each campaign's exact (unrounded) sums; `attribution`
rounds them to the cent by the largest remainder, so that the campaigns' attributed pipeline
and the unattributed pipeline add up to the period's pipeline exactly. Only one row per
campaign reaches Python. Table and column names come from the models' `_meta`."""

from datetime import timedelta

from django.db import connection

from abmcrm.core.db.names import column, table
from abmcrm.core.db.sqltext import Sql
from funnel.models import Lead, StageTransition
from programs.models import Campaign, ProgramItem, ProgramOrder
from tiers.models import EngagementEvent, EngagementKind

from ..models import Opportunity
from .common import as_float, moving, param

# The status of a won deal, as stored (its amount is the won revenue).
WON = Opportunity.Status.WON.value

MODELS = ("first", "last", "linear", "u_shaped", "w_shaped", "time_decay")
NOT_PLACED = (ProgramOrder.Status.REJECTED, ProgramOrder.Status.CANCELLED)
NULL_ID = "CAST(NULL AS bigint)"  # typed: PostgreSQL types a UNION's column by its first rows


def _ids(values):
    return ", ".join(str(int(value)) for value in values) or "NULL"


def touches_sql(*, low, high, accounts=None, distinct=True):
    """Sql of `SELECT DISTINCT aid, cid, at` over every kind of touch in [low, high) (None:
    unbounded), for the accounts `accounts` selects (an Sql: `… IN (accounts)`), or all.
    `distinct=False`: every record, duplicates kept (for a caller that drops them in its own
    sort)."""
    o, i, ev, c, t, lead, deal = (ProgramOrder, ProgramItem, EngagementEvent, Campaign,
                                  StageTransition, Lead, Opportunity)
    not_placed = ", ".join(f"'{status}'" for status in NOT_PLACED)
    parts = []

    def part(select, frm, at, aid, where=""):
        sql = Sql(f"SELECT {aid} AS aid, {select} AS cid, {at} AS at FROM {frm} WHERE 1 = 1")
        if low is not None:
            sql.add(f" AND {at} >= %s", param(low))
        if high is not None:
            sql.add(f" AND {at} < %s", param(high))
        if where:
            sql.add(f" AND {where}")
        if accounts is not None:
            sql.add(f" AND {aid} IN (").extend(accounts).add(")")
        parts.append(sql)

    part(f"i.{column(i, 'campaign')}",
         f"{table(o)} o JOIN {table(i)} i ON i.{column(i, 'id')} = o.{column(o, 'item')}",
         f"o.{column(o, 'created_at')}", f"o.{column(o, 'account')}",
         f"o.{column(o, 'status')} NOT IN ({not_placed})")
    part(f"c.{column(c, 'id')}",
         f"{table(ev)} ev JOIN {table(c)} c ON c.{column(c, 'code')} = ev.{column(ev, 'source')}",
         f"ev.{column(ev, 'occurred_at')}", f"ev.{column(ev, 'account')}")
    part(f"t.{column(t, 'campaign')}", f"{table(t)} t", f"t.{column(t, 'occurred_at')}",
         f"t.{column(t, 'account')}",
         f"t.{column(t, 'campaign')} IS NOT NULL AND t.{column(t, 'account')} IS NOT NULL")
    part(f"l.{column(lead, 'campaign')}", f"{table(lead)} l", f"l.{column(lead, 'created_at')}",
         f"l.{column(lead, 'account')}",
         f"l.{column(lead, 'campaign')} IS NOT NULL AND l.{column(lead, 'account')} IS NOT NULL")
    part(f"t.{column(t, 'campaign')}",
         f"{table(t)} t JOIN {table(lead)} l ON l.{column(lead, 'id')} = t.{column(t, 'lead')}",
         f"t.{column(t, 'occurred_at')}", f"l.{column(lead, 'account')}",
         f"t.{column(t, 'campaign')} IS NOT NULL AND l.{column(lead, 'account')} IS NOT NULL")
    part(f"d.{column(deal, 'campaign')}", f"{table(deal)} d", f"d.{column(deal, 'opened_at')}",
         f"d.{column(deal, 'account')}", f"d.{column(deal, 'campaign')} IS NOT NULL")
    sql = Sql(f"SELECT {'DISTINCT ' if distinct else ''}aid, cid, at FROM (")
    for n, part_sql in enumerate(parts):
        if n:
            sql.add(" UNION ALL ")
        sql.extend(part_sql)
    return sql.add(") raw")


def touched_accounts_sql(*, low, high, campaign_ids):
    """Sql of the ids of the accounts these campaigns touched in [low, high)."""
    return Sql("SELECT aid FROM (").extend(touches_sql(low=low, high=high)).add(
        f") ct WHERE cid IN ({_ids(campaign_ids)})")


def _spread(model):
    """SQL of the weight a deal spreads evenly over every touch of its window, over its
    columns n (touches in the window) and k (distinct key touches, W-shaped)."""
    if model == "linear":
        return f"1.0 / {as_float('n')}"
    if model == "u_shaped":
        return f"CASE WHEN n <= 2 THEN 0.0 ELSE 0.2 / {as_float('n - 2')} END"
    if model == "w_shaped":
        return (f"CASE WHEN n = k THEN 0.1 / {as_float('n')} "
                f"ELSE 0.1 / {as_float('n - k')} END")
    return None


def _keys(model):
    """[(the SQL of a key touch's rank, the SQL of the weight it gets on top of the spread)]
    over a deal's columns f, mk, l (first, W-shaped middle key and last touch ranks), n, k
    and s (its spread weight)."""
    if model == "first":
        return [("f", "1.0")]
    if model == "last":
        return [("l", "1.0")]
    if model == "u_shaped":
        return [("f", "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 ELSE 0.4 - s END"),
                ("l", "CASE WHEN n = 1 THEN 0.0 WHEN n = 2 THEN 0.5 ELSE 0.4 - s END")]
    if model == "w_shaped":
        # 30% to each of the three keys (a touch that is two of them gets both); the spread
        # covers only the others unless every touch is a key.
        correction = "CASE WHEN n = k THEN 0.0 ELSE s END"
        return [("f", f"0.3 - {correction}"),
                ("mk", f"0.3 - CASE WHEN mk <> f AND mk <> l THEN {correction} ELSE 0.0 END"),
                ("l", f"0.3 - CASE WHEN l <> f THEN {correction} ELSE 0.0 END")]
    return []


def _days(at):
    """A datetime as days (a double): the timeline's sort key, on which a RANGE frame takes
    a number of days."""
    if connection.vendor == "postgresql":
        # date_part is the double of EXTRACT's exact seconds, without a numeric per row.
        return f"(date_part('epoch', {at}) / 86400.0)"
    return f"julianday({at})"


def attribution_sql(*, model, start, end, lookback_days, half_life_days, middle_stage_ids,
                    deal_filter=None, campaign_ids=None):
    """(sql, params): rows ("c", campaign id, attributed deals, attributed pipeline,
    attributed won revenue) as exact sums of the weights (not rounded), ("u", NULL, deals,
    pipeline, won revenue) of the deals no touch reached and ("t", NULL, …) of all the
    period's deals. `campaign_ids` restricts the deals to accounts these campaigns touched
    (their weights still depend on every campaign's touches). `middle_stage_ids`: the funnel
    stages whose reaching marks the W-shaped model's middle key (engaged).

    No deal is paired with its touches (a deal has tens, a book millions). Two sorts:

    1. Each account's touches, milestones and deals form one timeline in time order, sorted
       once (on PostgreSQL the sort also drops the repeated touches: DISTINCT over the
       timeline's rows, whose deals are distinct by id). Window functions give each touch
       its rank among the account's touches (a running count) and each deal the rank of
       the last touch at or before it (l), the number of touches of its lookback window
       (n, a RANGE frame of days: so its first touch is f = l - n + 1), its W-shaped middle
       key (the running rank at its latest milestone) and its time-decay normaliser.
    2. A deal's window is the contiguous ranks [f, l]. Every deal becomes one to three
       ledger entries in rank order: at rank f (before the touch) its spread weight and its
       first-touch weight, at rank l (after the touch) minus its spread weight and its
       last-touch weight, at its middle key that key's weight. A running sum over the ledger
       hands every touch, at its rank, the spread of all the deals whose window holds it;
       a sum over its rank's entries (the same sort) its key weights."""
    d = Opportunity
    low = start - timedelta(days=int(lookback_days) + 1)
    days = int(lookback_days)
    # On PostgreSQL the timeline's sort drops the repeated touches (two records of one
    # campaign at one moment); SQLite, whose julianday is coarser than a timestamp, keeps
    # the DISTINCT of the touches on their own.
    in_sort = connection.vendor == "postgresql"
    sql = Sql()
    # deals: the deals opened in the period.
    sql.add(f"WITH deals AS (SELECT o.{column(d, 'id')} AS did, "
            f"o.{column(d, 'account')} AS aid, o.{column(d, 'opened_at')} AS at, "
            f"COALESCE(o.{column(d, 'amount')}, 0) AS amount, "
            f"CASE WHEN o.{column(d, 'status')} = '{WON}' "
            f"THEN COALESCE(o.{column(d, 'amount')}, 0) "
            f"ELSE 0 END AS won FROM {table(d)} o WHERE o.{column(d, 'opened_at')} >= %s "
            f"AND o.{column(d, 'opened_at')} < %s", param(start), param(end))
    if deal_filter is not None:
        sql.add(f" AND o.{column(d, 'id')} IN ({deal_filter[0]})", *deal_filter[1])
    if campaign_ids is not None:
        sql.add(f" AND o.{column(d, 'account')} IN (").extend(
            touched_accounts_sql(low=low, high=end, campaign_ids=campaign_ids)).add(")")
    sql.add("), touches AS (").extend(touches_sql(low=low, high=end, distinct=not in_sort))
    sql.add(")")
    # tl: the timeline; at equal times touches come first (a touch at the very moment a
    # deal opens is one of its touches), then milestones, then deals.
    sql.add(f", tl AS (SELECT aid, {_days('at')} AS x, 0 AS ko, cid, {NULL_ID} AS did, "
            "0 AS amount, 0 AS won FROM touches ")
    if model == "w_shaped":
        t, lead = StageTransition, Lead
        sql.add(f"UNION ALL SELECT l.{column(lead, 'account')}, "
                f"{_days('l.' + column(lead, 'created_at'))}, 1, {NULL_ID}, {NULL_ID}, 0, 0 "
                f"FROM {table(lead)} l WHERE l.{column(lead, 'account')} IS NOT NULL "
                f"AND l.{column(lead, 'created_at')} >= %s "
                f"AND l.{column(lead, 'created_at')} < %s ", param(low), param(end))
        sql.add(f"UNION ALL SELECT t.{column(t, 'account')}, "
                f"{_days('t.' + column(t, 'occurred_at'))}, 1, {NULL_ID}, {NULL_ID}, 0, 0 "
                f"FROM {table(t)} t WHERE t.{column(t, 'account')} IS NOT NULL "
                f"AND t.{column(t, 'to_stage')} IN ({_ids(middle_stage_ids)}) "
                f"AND t.{column(t, 'occurred_at')} >= %s "
                f"AND t.{column(t, 'occurred_at')} < %s ", param(low), param(end))
    sql.add(f"UNION ALL SELECT aid, {_days('at')}, 2, {NULL_ID}, did, amount, won FROM deals)")
    if in_sort:
        # One sort both deduplicates and orders the timeline for the windows below (a
        # repeated milestone is harmless: only the latest one counts; a deal is one by its
        # id). DISTINCT ON, unlike DISTINCT, is always a sort and a pass over it, never a
        # hash of every row before the sort.
        sql.add(", tls AS (SELECT DISTINCT ON (aid, x, ko, cid, did) * FROM tl "
                "ORDER BY aid, x, ko, cid, did)")
    else:
        sql.add(", tls AS (SELECT * FROM tl)")
    running = "PARTITION BY aid ORDER BY x, ko, cid ROWS UNBOUNDED PRECEDING"
    back = f"PARTITION BY aid ORDER BY x RANGE BETWEEN {float(days)} PRECEDING AND CURRENT ROW"
    # p1: tr, the running count of touches (a touch's rank; at a deal, its last touch's);
    # n, the touches of a deal's window; p, a touch's time-decay factor 2^(days / half-life)
    # counted from the account's first row (a deal's window sums them: its normaliser z).
    sql.add(", p1 AS (SELECT tls.*, "
            f"SUM(CASE WHEN ko = 0 THEN 1 ELSE 0 END) OVER ({running}) AS tr, "
            f"SUM(CASE WHEN ko = 0 THEN 1 ELSE 0 END) OVER ({back}) AS n")
    if model == "time_decay":
        sql.add(f", POWER(2.0, (x - MIN(x) OVER (PARTITION BY aid)) / {float(half_life_days)}) "
                "AS p")
    sql.add(" FROM tls)")
    extra = ""
    if model == "w_shaped":
        # mtr: at a deal, the rank of the last touch at or before its latest milestone.
        extra += f", MAX(CASE WHEN ko = 1 THEN tr END) OVER ({running}) AS mtr"
    if model == "time_decay":
        extra += f", SUM({moving('CASE WHEN ko = 0 THEN p ELSE 0 END')}) OVER ({back}) AS z"
    sql.add(f", p2 AS (SELECT * FROM (SELECT p1.*{extra} FROM p1) q WHERE ko <> 1)")
    # dr: the deals, with their first (f) and last (l) touch ranks, middle key (mk: the
    # first touch when its milestone's touch is outside the window), distinct keys (k) and
    # spread weight (s).
    mk = ("CASE WHEN mtr IS NOT NULL AND mtr >= tr - n + 1 THEN mtr ELSE tr - n + 1 END"
          if model == "w_shaped" else "tr - n + 1")
    spread = _spread(model)
    sql.add(f", dr1 AS (SELECT aid, amount, won, n, tr - n + 1 AS f, tr AS l, {mk} AS mk"
            f"{', z' if model == 'time_decay' else ''} FROM p2 WHERE ko = 2)")
    sql.add(", dr2 AS (SELECT dr1.*, 1 + CASE WHEN mk <> f AND mk <> l THEN 1 ELSE 0 END "
            "+ CASE WHEN l <> f THEN 1 ELSE 0 END AS k FROM dr1)")
    sql.add(f", dr AS (SELECT dr2.*, {as_float(spread) if spread else '0.0'} AS s FROM dr2 "
            "WHERE n > 0)")
    # ledger: the touches at their ranks (o = 0), and each deal's entries: (its rank, o =
    # -1 before the touch or +1 after it, the change of the running weight).
    sql.add(", ledger AS (SELECT aid, tr AS r, 0 AS o, cid, "
            f"{'p' if model == 'time_decay' else '1.0'} AS m, "
            "0.0 AS v1, 0.0 AS va, 0.0 AS vw FROM p2 WHERE ko = 0")
    for rank, o, change in _entries(model):
        w = as_float(change)
        sql.add(f" UNION ALL SELECT aid, {rank}, {o}, {NULL_ID}, 0.0, {w}, {w} * amount, "
                f"{w} * won FROM dr")
    sql.add(")")
    # credits: a touch's weights, the running sum at its rank (times its time-decay
    # factor; the models with key weights have none).
    ranked = "PARTITION BY aid ORDER BY r, o ROWS UNBOUNDED PRECEDING"
    sql.add(", credits AS (SELECT o, cid, m * SUM(v1) OVER w AS cd, "
            "m * SUM(va) OVER w AS ca, m * SUM(vw) OVER w AS cw FROM ledger "
            f"WINDOW w AS ({ranked})) ")
    sql.add("SELECT 'c', cid, SUM(cd), SUM(ca), SUM(cw) FROM credits WHERE o = 0 GROUP BY cid "
            "UNION ALL SELECT 'u', NULL, COUNT(*), SUM(amount), SUM(won) FROM p2 "
            "WHERE ko = 2 AND n = 0 "
            "UNION ALL SELECT 't', NULL, COUNT(*), SUM(amount), SUM(won) FROM p2 WHERE ko = 2")
    return sql


def _entries(model):
    """A deal's ledger entries: [(its rank's SQL, o, the SQL of the change of the running
    weight)] over its columns f, mk, l (ranks), n, k, s and z. The spread is added before
    its first touch and taken off after its last; a key weight is added before its touch
    and taken off after it. Changes at one place share an entry: six a deal for W-shaped,
    four for U-shaped, two for the others."""
    if model == "time_decay":
        spread = "1.0 / " + as_float("z")
    elif _spread(model):
        spread = "s"
    else:
        spread = None
    changes = {}

    def change(rank, o, sql):
        changes.setdefault((rank, o), []).append(sql)

    if spread:
        change("f", -1, spread)
        change("l", 1, f"-({spread})")
    for rank, weight in _keys(model):
        change(rank, -1, f"({weight})")
        change(rank, 1, f"-({weight})")
    return [(rank, o, " + ".join(terms)) for (rank, o), terms in changes.items()]


def attribution_rows(**kwargs):
    return attribution_sql(**kwargs).run()


# The campaign ROI's touches and lift -------------------------------------------------------

def reach_sql(*, campaign_ids, start, end, lift_days):
    """(sql, params): rows (campaign id, accounts touched in [start, end), meaningful events
    in the `lift_days` after each account's first touch in the period, in the `lift_days`
    before it)."""
    ev, kind = EngagementEvent, EngagementKind
    at = f"ev.{column(ev, 'occurred_at')}"
    days = int(lift_days)
    sql = Sql("WITH ft AS (SELECT cid, aid, MIN(at) AS first_at FROM (").extend(
        touches_sql(low=start, high=end)).add(f") t WHERE cid IN ({_ids(campaign_ids)}) "
                                              "GROUP BY cid, aid)")
    after = _between(at, "ft.first_at", days, after=True)
    before = _between(at, "ft.first_at", days, after=False)
    sql.add(f", lift AS (SELECT ft.cid, SUM(CASE WHEN {after} THEN 1 ELSE 0 END) AS after_, "
            f"SUM(CASE WHEN {before} THEN 1 ELSE 0 END) AS before_ "
            f"FROM ft JOIN {table(ev)} ev ON ev.{column(ev, 'account')} = ft.aid "
            f"JOIN {table(kind)} k ON k.{column(kind, 'id')} = ev.{column(ev, 'kind')} "
            f"WHERE k.{column(kind, 'weight')} > 0 GROUP BY ft.cid) "
            "SELECT ft.cid, COUNT(*), MAX(lift.after_), MAX(lift.before_) FROM ft "
            "LEFT JOIN lift ON lift.cid = ft.cid GROUP BY ft.cid")
    return sql


def _between(left, right, days, *, after):
    """SQL: `left` in the `days` after (or before) `right`, two datetime expressions."""
    if connection.vendor == "postgresql":
        if after:
            return f"{left} >= {right} AND {left} < {right} + interval '{days} days'"
        return f"{left} < {right} AND {left} >= {right} - interval '{days} days'"
    left, right = f"julianday({left})", f"julianday({right})"
    if after:
        return f"{left} >= {right} AND {left} < {right} + {days}"
    return f"{left} < {right} AND {left} >= {right} - {days}"


def reach_rows(**kwargs):
    return reach_sql(**kwargs).run()
