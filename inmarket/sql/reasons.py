"""What the reasons of the accounts in consideration or later name: their recent engagement
by kind and the titles of the people who engaged. The scoring asks once a chunk of 5,000
accounts; the ORM built each of these statements anew every time (~2 ms a chunk of Python,
several times the database's own work), here the text is the same each time and only the
parameters change. The rows are the ORM's (`services.scoring` keeps its history there)."""

from django.db import connection

from abmcrm.core.db.names import column, table
from tiers.models import Contact, EngagementEvent, EngagementKind

from .dialect import account_filter, ts, ts_value


def _meaningful(e, ids, since, until):
    """(JOIN … WHERE text, its parameters): the events of the accounts `ids` in (since, until]
    whose kind counts (weight > 0), as `e` (column expressions of alias e) and k (the kind);
    a caller puts it after its own FROM and joins, and may add conditions."""
    where, params = account_filter(e["account"], ids=ids)
    kind = table(EngagementKind)
    return (f"JOIN {kind} k ON k.{column(EngagementKind, 'id')} = {e['kind']} "
            f"WHERE {where} AND k.{column(EngagementKind, 'weight')} > 0 "
            f"AND {e['occurred_at']} > {ts()} AND {e['occurred_at']} <= {ts()}",
            [*params, ts_value(since), ts_value(until)])


def kind_counts(ids, *, since, split, until):
    """[(account id, kind name, events after `split`, events from `since` to `split`)] of the
    accounts' meaningful engagement (kind weight > 0) in (since, until], by account and kind
    name (in no particular order, as the ORM's GROUP BY gave them)."""
    e = {name: f"e.{column(EngagementEvent, name)}" for name in
         ("id", "account", "kind", "occurred_at")}
    events, params = _meaningful(e, ids, since, until)
    sql = (f"SELECT {e['account']}, k.{column(EngagementKind, 'name')}, "
           f"COUNT(CASE WHEN {e['occurred_at']} > {ts()} THEN {e['id']} END), "
           f"COUNT(CASE WHEN {e['occurred_at']} <= {ts()} THEN {e['id']} END) "
           f"FROM {table(EngagementEvent)} e {events} GROUP BY 1, 2")
    params = [ts_value(split), ts_value(split), *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def titles(ids, *, since, until):
    """[(account id, job title)] of the meaningful engagement (kind weight > 0) by the
    accounts' contacts with a title in (since, until], latest first (the order the senior
    titles are told apart in: the first of two equally senior titles is said)."""
    e = {name: f"e.{column(EngagementEvent, name)}" for name in
         ("id", "account", "kind", "contact", "occurred_at")}
    title = f"c.{column(Contact, 'title')}"
    events, params = _meaningful(e, ids, since, until)
    sql = (f"SELECT {e['account']}, {title} FROM {table(EngagementEvent)} e "
           f"JOIN {table(Contact)} c ON c.{column(Contact, 'id')} = {e['contact']} {events} "
           f"AND NOT ({title} = '') ORDER BY {e['occurred_at']} DESC, {e['id']} DESC")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
