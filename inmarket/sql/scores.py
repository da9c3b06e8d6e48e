"""Writing the in-market scores onto the accounts, and their marks onto the week's snapshots
(`training.MARK`): one UPDATE … FROM a batch (rows travel as one SQL source,
`abmcrm.core.db.rowsets`), as the tiers app writes its scores — the ORM's bulk_update builds
a CASE per field and row, which at 100,000 accounts costs many times the database's own
work."""

from django.db import connection

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, table
from tiers.models import Account

from ..models import AccountSnapshot
from .dialect import account_filter, date, date_value, id_batches
from .training import stored_mark

COLUMNS = [("id", "int"), ("probability", "numeric"), ("stage", "text"), ("is_6qa", "bool"),
           ("version", "int"), ("reasons", "jsonb")]
FIELDS = {"probability": "in_market_probability", "stage": "buying_stage", "is_6qa": "is_6qa",
          "version": "in_market_model_version", "reasons": "in_market_reasons"}
MARK_COLUMNS = [("id", "int"), ("mark", "bytea"), ("old", "bytea")]


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


def write_marks(week, rows):
    """rows: [(account id, mark, the mark read)]: the marks of the scores about to be
    written (or found unchanged) onto the week's snapshots of those accounts
    (`training.MARK`), each only where the stored mark is still the one read (as
    `training.stored_mark` reads it) and the account has no snapshot of a later week (a
    scoring of that week may have written it: this one's scores are out of date). Returns
    the ids whose mark was written: the scores of the others were written, or found
    unchanged, by a scoring that ran alongside, and writing them now would leave the
    account and its mark apart."""
    if not rows:
        return set()
    snap = table(AccountSnapshot)
    mark, account, week_c = (column(AccountSnapshot, name)
                             for name in ("scores_mark", "account", "week"))
    written = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(MARK_COLUMNS, rows, extra_params=2):
            cursor.execute(f"{cte} UPDATE {snap} SET {mark} = v.mark FROM v WHERE "
                           f"{snap}.{week_c} = {date()} AND {snap}.{account} = v.id AND "
                           f"{stored_mark(f'{snap}.{mark}')} = v.old AND NOT EXISTS (SELECT "
                           f"1 FROM {snap} later WHERE later.{account} = v.id AND "
                           f"later.{week_c} > {date()}) RETURNING {snap}.{account}",
                           [*params, date_value(week), date_value(week)])
            written.update(row[0] for row in cursor.fetchall())
    return written


def clear_marks(*, account_ids=None):
    """Forget the marks of the accounts' snapshots (all accounts: None), every week's."""
    snap = table(AccountSnapshot)
    mark, account = column(AccountSnapshot, "scores_mark"), column(AccountSnapshot, "account")
    sql = f"UPDATE {snap} SET {mark} = NULL WHERE {mark} IS NOT NULL"
    with connection.cursor() as cursor:
        if account_ids is None:
            cursor.execute(sql)
            return
        for batch in id_batches(list(account_ids)):
            where, params = account_filter(account, ids=batch)
            cursor.execute(f"{sql} AND {where}", params)
