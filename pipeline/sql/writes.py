"""The bulk upsert's compare-and-set of the deals it changes, one statement a batch.

A CRM sync changes thousands of deals at once; an UPDATE a deal would cost a round trip each,
and `bulk_update` has no condition. Here every changed deal's new row travels in one `WITH v
AS (…)` source (`abmcrm.core.db.rowsets`) and one UPDATE … FROM v writes those whose
`version` is still the one read, answering their ids: a deal someone else changed meanwhile
is left alone and reported by the caller."""

from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table

from ..models import Opportunity

# The columns an upsert may change, with their rowsets types.
COLUMNS = [
    ("account", "int"), ("name", "text"), ("external_id", "text"), ("owner", "int"),
    ("product", "text"), ("amount", "numeric"), ("currency", "text"), ("stage", "int"),
    ("status", "text"), ("opened_at", "ts"), ("close_date", "date"), ("closed_at", "ts"),
    ("lost_reason", "text"), ("campaign", "int"), ("channel", "text"), ("lead", "int"),
    ("stage_changed_at", "ts"), ("version", "int"), ("updated_at", "ts"),
]
FIELDS = [name for name, _ in COLUMNS]


def cas_update(rows):
    """rows = [(id, version as read, then the values of FIELDS in order)]. Writes each row
    whose version is still the one read; returns the ids written."""
    target, pk = table(Opportunity), column(Opportunity, "id")
    version = column(Opportunity, "version")
    sets = ", ".join(f"{column(Opportunity, name)} = v.{name}" for name in FIELDS)
    spec = [("id", "int"), ("old_version", "int"), *COLUMNS]
    written = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(spec, rows):
            cursor.execute(
                f"{cte} UPDATE {target} SET {sets} FROM v WHERE {target}.{pk} = v.id "
                f"AND {target}.{version} = v.old_version RETURNING {target}.{pk}", params)
            written.update(row[0] for row in cursor.fetchall())
    return written


INSERT_FIELDS = [name for name, _ in COLUMNS] + ["created_at"]


def insert_recorded(rows, *, by_id, now):
    """PostgreSQL: insert new deals and their first stage change in one statement a batch
    (the INSERT of the deals feeds the INSERT of the changes): rows = [the values of
    INSERT_FIELDS in order]. Returns the new ids in the order of `rows`.

    Django's bulk_create prepares every value of every row in Python and then the history
    rows again; here the rows travel once as JSON (`rowsets`) and the database writes both
    tables. The rows are inserted by their position, and INSERT … RETURNING answers in
    insertion order (as bulk_create itself relies on)."""
    from ..models import OpportunityStageChange as Change

    spec = [*COLUMNS, ("created_at", "ts"), ("n", "int")]
    names = ", ".join(column(Opportunity, name) for name in INSERT_FIELDS)
    values = ", ".join(f"v.{name}" for name in INSERT_FIELDS)
    changes = ", ".join(column(Change, name) for name in (
        "opportunity", "from_stage", "to_stage", "at", "amount", "is_reopen", "by",
        "created_at"))
    pk = column(Opportunity, "id")
    stage, at, amount = (column(Opportunity, name) for name in ("stage", "stage_changed_at",
                                                                 "amount"))
    ids = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(spec, [[*row, n] for n, row in enumerate(rows)]):
            cursor.execute(
                f"{cte}, ins AS (INSERT INTO {table(Opportunity)} ({names}) SELECT {values} "
                f"FROM v ORDER BY v.n RETURNING {pk}, {stage}, {at}, {amount}), "
                f"ch AS (INSERT INTO {table(Change)} ({changes}) SELECT {pk}, NULL, {stage}, "
                f"{at}, {amount}, false, %s, %s FROM ins) SELECT {pk} FROM ins",
                [*params, by_id, now])
            ids += [row[0] for row in cursor.fetchall()]
    return ids
