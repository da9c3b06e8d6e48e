"""Writing the in-market scores onto the accounts: one UPDATE … FROM a batch (rows travel as
one SQL source, `abmcrm.core.db.rowsets`), as the tiers app writes its scores — the ORM's
bulk_update builds a CASE per field and row, which at 100,000 accounts costs many times the
database's own work.

On PostgreSQL `write_changed` also finds what changed: the UPDATE compares the stored scores
with the new ones (`IS DISTINCT FROM`, the reasons as jsonb) and returns the old stage and
6QA of the rows it wrote, from a second reference to the table (`old`, the row as the
statement found it). A rescoring where few accounts change then reads no current values into
Python at all. SQLite cannot return a joined table's columns from an UPDATE: there the
scoring reads the current values with the features and compares them itself."""

from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table
from tiers.models import Account

COLUMNS = [("id", "int"), ("probability", "numeric"), ("stage", "text"), ("is_6qa", "bool"),
           ("version", "int"), ("reasons", "jsonb")]
FIELDS = {"probability": "in_market_probability", "stage": "buying_stage", "is_6qa": "is_6qa",
          "version": "in_market_model_version", "reasons": "in_market_reasons"}


def write(rows):
    """rows: [(account id, probability, buying stage, is 6QA, model version, reasons)]."""
    if not rows:
        return
    accounts, pk = table(Account), column(Account, "id")
    sets = ", ".join(f"{column(Account, field)} = v.{name}" for name, field in FIELDS.items())
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(COLUMNS, rows):
            cursor.execute(f"{cte} UPDATE {accounts} SET {sets} FROM v "
                           f"WHERE {accounts}.{pk} = v.id", params)


CHANGED_COLUMNS = [("id", "int"), ("probability", "numeric"), ("stage", "text"),
                   ("is_6qa", "bool"), ("version", "int"), ("reasons", "text")]


def write_changed(rows):
    """PostgreSQL only. rows: [(account id, probability, buying stage, is 6QA, model version,
    reasons as JSON text)]; writes those that differ from what is stored. Returns [(account
    id, old buying stage, old is 6QA)] of the rows written."""
    if not rows:
        return []
    accounts, pk = table(Account), column(Account, "id")
    new = {"probability": "v.probability::float8", "stage": "v.stage", "is_6qa": "v.is_6qa",
           "version": "v.version", "reasons": "v.reasons::jsonb"}
    sets = ", ".join(f"{column(Account, FIELDS[name])} = {value}" for name, value in new.items())
    stored = ", ".join(f"old.{column(Account, FIELDS[name])}" for name in new)
    stage, is_6qa = column(Account, "buying_stage"), column(Account, "is_6qa")
    changed = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(CHANGED_COLUMNS, rows):
            cursor.execute(
                f"{cte} UPDATE {accounts} SET {sets} FROM v JOIN {accounts} old "
                f"ON old.{pk} = v.id WHERE {accounts}.{pk} = v.id "
                f"AND ({stored}) IS DISTINCT FROM ({', '.join(new.values())}) "
                f"RETURNING {accounts}.{pk}, old.{stage}, old.{is_6qa}", params)
            changed.extend(cursor.fetchall())
    return changed
