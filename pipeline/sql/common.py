"""What the pipeline's statements share: SQL text built with its parameters in order, the
deals a filter selects (the API's FilterSet, compiled to a subquery), and the few spellings
that differ between PostgreSQL and SQLite."""

from django.db import connection


def subquery(queryset):
    """(sql, params) of `queryset`'s ids: the deals an API filter selects, for `id IN (…)`."""
    return queryset.order_by().values("pk").query.sql_with_params()


def as_float(expression):
    return f"CAST({expression} AS {'double precision' if _pg() else 'REAL'})"


def moving(expression):
    """`expression` as a type whose SUM over a sliding window frame PostgreSQL keeps up to
    date row by row (numeric has an inverse transition; double precision has none, so its
    frame would be summed again at every row)."""
    return f"CAST({expression} AS numeric)" if _pg() else expression


def round_money(expression):
    """`expression` rounded to the cent (PostgreSQL rounds numerics only)."""
    if _pg():
        return f"ROUND(CAST({expression} AS numeric), 2)"
    return f"ROUND({expression}, 2)"


def round_to(expression, places):
    if _pg():
        return f"ROUND(CAST({expression} AS numeric), {int(places)})"
    return f"ROUND({expression}, {int(places)})"


def within_days_before(at, anchor, days):
    """SQL: the datetime `at` is at or before `anchor` and at most `days` (an int) before."""
    days = int(days)
    if _pg():
        return f"{at} <= {anchor} AND {at} >= {anchor} - interval '{days} days'"
    # SQLite's datetimes are text: compared as Julian days, exactly.
    return (f"julianday({at}) <= julianday({anchor}) "
            f"AND julianday({at}) >= julianday({anchor}) - {days}")


def _pg():
    return connection.vendor == "postgresql"


def param(value):
    """A datetime parameter as the backend stores it."""
    return connection.ops.adapt_datetimefield_value(value)
