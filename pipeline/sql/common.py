"""What the pipeline's statements share: SQL text built with its parameters in order, the
deals a filter selects (the API's FilterSet, compiled to a subquery), and the few spellings
that differ between PostgreSQL and SQLite."""


from django.db import connection, transaction


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


def run_without_jit(sql):
    """Run `sql` (an `Sql`) and return its rows, on PostgreSQL with JIT compilation off for
    that statement. A report's statement is a few dozen expressions over every deal: once its
    estimated cost passes `jit_above_cost` (from about a million deals) PostgreSQL compiles
    them, in the leader and in each parallel worker, which costs more than the scan it
    speeds up (0.1–0.2 s measured, against a 0.1 s floor at 200,000 deals). `SET LOCAL` in
    its own transaction, put back as it was when the caller's transaction goes on."""
    if not _pg():
        return sql.run()
    outer = connection.in_atomic_block  # then SET LOCAL would outlast this statement
    with transaction.atomic(), connection.cursor() as cursor:
        previous = jit_off(cursor)
        cursor.execute(sql.text, sql.params)
        rows = cursor.fetchall()
        if outer:
            jit_restore(cursor, previous)
    return rows


def jit_off(cursor):
    """PostgreSQL: JIT compilation off until the transaction ends (SET LOCAL); returns the
    setting it had, for `jit_restore`."""
    cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    return cursor.fetchone()[0]


def jit_restore(cursor, previous):
    """Put back the setting `jit_off` returned, for the rest of the caller's transaction."""
    if previous != "off":
        cursor.execute("SELECT set_config('jit', %s, true)", [previous])
