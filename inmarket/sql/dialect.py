"""The spellings that differ between PostgreSQL and SQLite in this app's statements."""

from django.db import connection

from abmcrm.core.db import rowsets


def is_pg():
    return connection.vendor == "postgresql"


def ts():
    """A datetime parameter."""
    return "%s::timestamptz" if is_pg() else "%s"


def date():
    """A date parameter."""
    return "%s::date" if is_pg() else "%s"


def ts_value(value):
    return value if is_pg() else connection.ops.adapt_datetimefield_value(value)


def date_value(value):
    return value if is_pg() else connection.ops.adapt_datefield_value(value)


def days_before(expression_sql, earlier):
    """Fractional days from `earlier` (a column) to `expression_sql` (a datetime)."""
    if is_pg():
        return f"(EXTRACT(EPOCH FROM ({expression_sql} - {earlier})) / 86400.0)"
    return f"(julianday({expression_sql}) - julianday({earlier}))"


def plus_days(expression, days_param="%s"):
    """A datetime column plus a number of days given as a parameter."""
    if is_pg():
        return f"({expression} + make_interval(days => {days_param}))"
    # SQLite: datetime() writes 'YYYY-MM-DD HH:MM:SS', the text Django stores.
    return f"datetime({expression}, '+' || {days_param} || ' days')"


def account_filter(alias_column, *, lo=None, hi=None, ids=None):
    """(SQL, params) selecting account ids by a range or a list."""
    if ids is not None:
        ids = list(ids)
        if not ids:
            return "1 = 0", []
        if is_pg():
            return (f"{alias_column} IN (SELECT value::bigint FROM "
                    "json_array_elements_text(%s::json))"), [_json(ids)]
        return f"{alias_column} IN ({', '.join(['%s'] * len(ids))})", ids
    return f"{alias_column} BETWEEN %s AND %s", [lo, hi]


def id_batches(ids):
    """`ids` (a list) in slices for `account_filter`: all at once on PostgreSQL (one JSON
    parameter), a statement's worth of parameters elsewhere (SQLite's older builds bind at
    most 999)."""
    step = (len(ids) or 1) if is_pg() else rowsets.SQLITE_PARAMS
    for start in range(0, len(ids), step):
        yield ids[start:start + step]


def _json(values):
    import json

    return json.dumps(values)


def binary_results(cursor):
    """Have `cursor` (Django's) return its rows in PostgreSQL's binary format where the
    driver can (psycopg 3 binding on the server, the project's default; not the client-side
    binding cursor used behind a pooler): numbers then travel as machine values, not as text
    the server prints and the client parses back (the same Python values; a scoring's read
    of 100,000 rows decodes in half the time)."""
    if not is_pg():
        return
    try:
        from psycopg import ClientCursor
        from psycopg.pq import Format
    except ImportError:  # psycopg2
        return
    raw = cursor.cursor
    if not isinstance(raw, ClientCursor):
        raw.format = Format.BINARY
