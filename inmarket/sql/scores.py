"""Writing the in-market scores onto the accounts: one UPDATE … FROM a batch (rows travel as
one SQL source, `abmcrm.core.db.rowsets`), as the tiers app writes its scores — the ORM's
bulk_update builds a CASE per field and row, which at 100,000 accounts costs many times the
database's own work."""

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
