"""Many rows as one SQL source, for the set-based writes of a recompute and of the funnel's
automatic moves.

Django's bulk_create builds a model instance and prepares every value of every row, and a
list bound as a PostgreSQL array is quoted element by element in Python; at tens of thousands
of rows either costs several times the database's own work. `batches` yields instead a
`WITH v(columns) AS (…)` clause that one INSERT … SELECT or UPDATE … FROM reads from: on
PostgreSQL the rows travel as one JSON document (encoded in C, parsed by the server), elsewhere
as a VALUES list of a few hundred rows per statement.
"""

import datetime
import decimal
import json
import uuid

from django.db import connection
from django.db.models.expressions import RawSQL

# Column types, as PostgreSQL casts each value.
PG_TYPES = {"int": "bigint", "smallint": "smallint", "bool": "boolean", "text": "text",
            "ts": "timestamptz", "jsonb": "jsonb", "numeric": "numeric", "date": "date",
            "uuid": "uuid", "bytea": "bytea"}
# SQLite binds at most 999 parameters a statement in its older builds.
SQLITE_PARAMS = 999


def _encode(value):
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        # PostgreSQL's hex format, which the cast to bytea reads.
        return "\\x" + value.hex()
    if isinstance(value, decimal.Decimal):
        # As text: a float would round money on its way to the database.
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a row value rowsets can send")


def batches(columns, rows, extra_params=0):
    """Yield (sql, params): `WITH v(name, …) AS (…)` over `rows` (sequences in the order of
    `columns`, a list of (name, type) with the types of PG_TYPES; jsonb values as Python
    lists or dicts). `extra_params`: how many parameters the statement adds after these."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    if connection.vendor == "postgresql":
        # Parsed as jsonb, once: on the text type `json` each `->>` re-parses its row's
        # element, which over 100,000 rows of 7 columns costs ~0.3 s more.
        values = ", ".join(f"e->{i}" if kind == "jsonb" else f"(e->>{i})::{PG_TYPES[kind]}"
                           for i, (_, kind) in enumerate(columns))
        yield (f"WITH v({names}) AS (SELECT {values} FROM jsonb_array_elements(%s::jsonb) "
               "AS e)", [json.dumps(rows, default=_encode)])
        return
    adapt = connection.ops.adapt_datetimefield_value
    kinds = [kind for _, kind in columns]
    size = max(1, (SQLITE_PARAMS - extra_params) // len(columns))
    for start in range(0, len(rows), size):
        chunk = [[adapt(value) if kind == "ts" else json.dumps(value) if kind == "jsonb"
                  else getattr(value, "hex", value) if kind == "uuid" else value
                  for kind, value in zip(kinds, row, strict=True)]
                 for row in rows[start:start + size]]
        values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
        yield (f"WITH v({names}) AS (VALUES {values})",
               [value for row in chunk for value in row])


def ids(values):
    """The ids for a `field__in=` filter: on PostgreSQL a subquery over one JSON parameter (a
    long IN list costs ~10 µs an id to build and quote), elsewhere the list itself."""
    values = list(values)
    if connection.vendor != "postgresql":
        return values
    return RawSQL("SELECT value::bigint FROM json_array_elements_text(%s::json)",
                  [json.dumps(values)])


def texts(values):
    """`ids` for text values (external ids, e-mails): on PostgreSQL a subquery over one JSON
    parameter, whose 10,000 placeholders psycopg would otherwise scan the statement for."""
    values = list(values)
    if connection.vendor != "postgresql":
        return values
    return RawSQL("SELECT value FROM json_array_elements_text(%s::json)", [json.dumps(values)])
