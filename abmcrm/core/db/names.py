"""Table and column names for raw SQL, taken from the models' `_meta` (never typed by hand,
so a renamed table or column cannot silently break a statement), and the few spellings that
differ between PostgreSQL and SQLite."""

from django.db import connection


def table(model):
    """The quoted table name of `model` (a model class or its `_meta`)."""
    meta = getattr(model, "_meta", model)
    return connection.ops.quote_name(meta.db_table)


def column(model, name):
    """The quoted column of field `name` (`account` → `"account_id"`)."""
    meta = getattr(model, "_meta", model)
    return connection.ops.quote_name(meta.get_field(name).column)


def columns(model, *names):
    """`column` of each name, joined by commas: an INSERT's column list."""
    return ", ".join(column(model, name) for name in names)


def null_safe_equals():
    """The null-safe equality operator: PostgreSQL's IS NOT DISTINCT FROM, SQLite's `IS`
    (SQLite learnt IS NOT DISTINCT FROM only in 3.39)."""
    return "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"


def json_equals(left, right):
    """SQL comparing two JSON expressions by value: PostgreSQL's jsonb `=`; SQLite keeps JSON
    as text, so both sides are first put in its one minified spelling (`json()`)."""
    if connection.vendor == "postgresql":
        return f"{left} = {right}"
    return f"json({left}) = json({right})"


def days_between(later, earlier):
    """SQL for the days (fractional) from `earlier` to `later`, two datetime expressions."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def month_of(expression):
    """SQL for 'YYYY-MM' of a datetime expression."""
    if connection.vendor == "postgresql":
        return f"to_char({expression}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {expression})"
