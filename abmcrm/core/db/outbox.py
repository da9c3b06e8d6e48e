"""The outbox's raw SQL: many events of one type in one INSERT … SELECT a batch
(`abmcrm.core.outbox.emit_many`).

Why not bulk_create: a recompute writes an event per account whose tier changed, tens of
thousands at once, inside its own transactions; bulk_create prepares each of the seven values
of each row in Python (the UUID, the JSON, two datetimes), which costs several times the
INSERT itself. Here the rows travel as one JSON document (`rowsets`)."""

from django.db import connection

from . import rowsets
from .names import columns, table

COLUMNS = [("id", "uuid"), ("account_id", "int"), ("occurred_at", "ts"), ("data", "jsonb")]


def insert_events(type, rows, *, created_at):
    """rows = [(id as 32 hex digits, account id or None, occurred_at, data)]."""
    from ..models import OutboxEvent

    names = columns(OutboxEvent, "id", "type", "account_id", "occurred_at", "data",
                    "created_at")
    created = connection.ops.adapt_datetimefield_value(created_at)
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(COLUMNS, rows, 2):
            cursor.execute(
                f"{cte} INSERT INTO {table(OutboxEvent)} ({names}) "
                f"SELECT v.id, %s, v.account_id, v.occurred_at, v.data, %s FROM v",
                [*params, type, created])
