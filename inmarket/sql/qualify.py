"""The first 6QA of accounts, recorded once: INSERT … ON CONFLICT DO NOTHING RETURNING the
ids inserted, a compare-and-set for many accounts in one statement (of two scorings racing,
only one inserts an account's row, and only that one moves it in the funnel). The ORM's
bulk_create(ignore_conflicts=True) cannot say which rows it inserted."""

from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table

from ..models import SixQaQualification

COLUMNS = [("id", "int"), ("at", "ts"), ("version", "int")]


def insert_first(rows):
    """rows: [(account id, qualified at, model version)]. Returns the ids inserted."""
    names = ", ".join(column(SixQaQualification, name)
                      for name in ("account", "qualified_at", "model_version"))
    qualified, inserted = table(SixQaQualification), set()
    key = column(SixQaQualification, "account")
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(COLUMNS, rows):
            # `WHERE true`: SQLite reads ON CONFLICT after a bare SELECT as a join clause.
            cursor.execute(f"{cte} INSERT INTO {qualified} ({names}) SELECT id, at, version "
                           f"FROM v WHERE true ON CONFLICT ({key}) DO NOTHING RETURNING {key}",
                           params)
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted
