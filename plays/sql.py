"""The one raw statement of the plays app: insert a row unless its unique key is taken, and
say which happened, in one statement.

Why not the ORM: `bulk_create(ignore_conflicts=True)` does not say whether the row went in,
and `create()` in a savepoint that catches IntegrityError makes PostgreSQL log an error for
every duplicate. `INSERT … ON CONFLICT DO NOTHING RETURNING` (PostgreSQL, SQLite ≥ 3.35)
waits for a concurrent inserter of the same key to commit or roll back, then inserts or skips:
the claim a play's exactly-once firing rests on."""

from django.db import connection

from abmcrm.core.db.names import column, columns, table


def insert_or_skip(model, values, conflict):
    """Insert `values` ({field name: value}) into `model`'s table unless a row with the same
    `conflict` fields (a unique constraint's) exists; the new row's primary key, or None
    when it was skipped."""
    meta = model._meta
    names = list(values)
    params = [meta.get_field(name).get_db_prep_save(values[name], connection)
              for name in names]
    sql = (f"INSERT INTO {table(model)} ({columns(model, *names)}) "
           f"VALUES ({', '.join(['%s'] * len(names))}) "
           f"ON CONFLICT ({columns(model, *conflict)}) DO NOTHING "
           f"RETURNING {column(model, meta.pk.name)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None
