"""Campaign ROI's SQL: each campaign's first touch of each account (orders placed, engagement
events carrying its code), the opportunities and wins that followed, and the engagement lift
around the first touch. Table and column names come from the models' `_meta`."""

from django.db import connection

from abmcrm.core.db.names import column, table
from programs.models import Campaign, ProgramItem, ProgramOrder
from tiers.models import EngagementEvent, EngagementKind

from ..models import StageTransition

NOT_PLACED = (ProgramOrder.Status.REJECTED, ProgramOrder.Status.CANCELLED)


def _ids(values):
    return ", ".join(str(int(value)) for value in values) or "NULL"


def _touch_sql(campaign_ids):
    """First touch of each (campaign, account): orders placed and engagement events carrying
    the campaign's code."""
    o, i, c, ev = ProgramOrder, ProgramItem, Campaign, EngagementEvent
    campaign = f"i.{column(i, 'campaign')}"
    not_placed = ", ".join(f"'{status}'" for status in NOT_PLACED)
    orders = (
        f"SELECT {campaign} AS cid, o.{column(o, 'account')} AS aid, "
        f"MIN(o.{column(o, 'created_at')}) AS first_at "
        f"FROM {table(o)} o JOIN {table(i)} i ON i.{column(i, 'id')} = o.{column(o, 'item')} "
        f"WHERE o.{column(o, 'status')} NOT IN ({not_placed}) "
        f"AND {campaign} IN ({_ids(campaign_ids)}) GROUP BY {campaign}, o.{column(o, 'account')}")
    events = (
        f"SELECT c.{column(c, 'id')} AS cid, ev.{column(ev, 'account')} AS aid, "
        f"MIN(ev.{column(ev, 'occurred_at')}) AS first_at "
        f"FROM {table(ev)} ev JOIN {table(c)} c ON c.{column(c, 'code')} = "
        f"ev.{column(ev, 'source')} WHERE c.{column(c, 'id')} IN ({_ids(campaign_ids)}) "
        f"GROUP BY c.{column(c, 'id')}, ev.{column(ev, 'account')}")
    return ("SELECT cid, aid, MIN(first_at) AS first_at FROM ("
            f"{orders} UNION ALL {events}) touches GROUP BY cid, aid")


def campaign_results(campaign_ids, *, opportunity_stages, won_stages):
    """Rows ("touch", campaign id, accounts touched, 0, 0) and ("result", campaign id,
    opportunities, pipeline, won revenue): a transition counts for a campaign when it
    carries the campaign, or follows the campaign's first touch of its account."""
    t = StageTransition
    tid, to, amount = (column(t, name) for name in ("id", "to_stage", "amount"))
    stages_in = f"({_ids(s.pk for s in [*opportunity_stages, *won_stages])})"
    opp, won = (_ids(s.pk for s in stages) for stages in (opportunity_stages, won_stages))
    sql = (
        f"WITH ft AS ({_touch_sql(campaign_ids)}), attributed AS ("
        f"SELECT t.{column(t, 'campaign')} AS cid, t.{tid} AS tid, t.{to} AS sid, "
        f"t.{amount} AS amount FROM {table(t)} t "
        f"WHERE t.{column(t, 'campaign')} IN ({_ids(campaign_ids)}) AND t.{to} IN {stages_in} "
        f"UNION SELECT ft.cid, t.{tid}, t.{to}, t.{amount} FROM ft JOIN {table(t)} t "
        f"ON t.{column(t, 'account')} = ft.aid AND t.{column(t, 'occurred_at')} >= ft.first_at "
        f"WHERE t.{to} IN {stages_in}) "
        "SELECT 'touch' AS part, cid, COUNT(*), 0, 0 FROM ft GROUP BY cid "
        "UNION ALL SELECT 'result', cid, "
        f"SUM(CASE WHEN sid IN ({opp}) THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN sid IN ({opp}) THEN amount ELSE 0 END), "
        f"SUM(CASE WHEN sid IN ({won}) THEN amount ELSE 0 END) "
        "FROM attributed GROUP BY cid")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _within(left, right, days, *, after):
    """SQL: `left` in the `days` after (or before) `right`, two datetime expressions."""
    days = int(days)
    if connection.vendor == "postgresql":
        if after:
            return f"{left} >= {right} AND {left} < {right} + interval '{days} days'"
        return f"{left} < {right} AND {left} >= {right} - interval '{days} days'"
    left, right = f"julianday({left})", f"julianday({right})"
    if after:
        return f"{left} >= {right} AND {left} < {right} + {days}"
    return f"{left} < {right} AND {left} >= {right} - {days}"


def campaign_lift(campaign_ids, *, days):
    """Rows (campaign id, meaningful events in the `days` after the first touch, in the
    `days` before it), over the accounts each campaign touched."""
    ev, kind = EngagementEvent, EngagementKind
    at = f"ev.{column(ev, 'occurred_at')}"
    sql = (
        f"WITH ft AS ({_touch_sql(campaign_ids)}) "
        f"SELECT ft.cid, SUM(CASE WHEN {_within(at, 'ft.first_at', days, after=True)} "
        "THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {_within(at, 'ft.first_at', days, after=False)} THEN 1 ELSE 0 END) "
        f"FROM ft JOIN {table(ev)} ev ON ev.{column(ev, 'account')} = ft.aid "
        f"JOIN {table(kind)} k ON k.{column(kind, 'id')} = ev.{column(ev, 'kind')} "
        f"WHERE k.{column(kind, 'weight')} > 0 GROUP BY ft.cid")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()
