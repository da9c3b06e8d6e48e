"""The programs app's raw SQL, for the two statements every fulfilled order runs: moving its
cost between a budget's committed and spent amounts, and claiming a send. Table and column
names come from the models' `_meta`."""

from functools import cache

from django.db import connection
from django.utils import timezone

from abmcrm.core.db.names import column, table

from .models import Budget, Fulfillment, ProgramOrder


@cache
def _budgets_move_sql(vendor, spend):
    """The statement's text, built once per database vendor: every fulfilled or failed order
    runs it, and spelling it from `_meta` each time costs more than running it."""
    link = ProgramOrder.budgets.through
    committed, spent = column(Budget, "committed"), column(Budget, "spent")
    add_spent = f", {spent} = {spent} + %s" if spend else ""
    return (f"UPDATE {table(Budget)} SET {committed} = {committed} - %s{add_spent} "
            f"WHERE {column(Budget, 'id')} IN (SELECT {column(link, 'budget')} "
            f"FROM {table(link)} WHERE {column(link, 'programorder')} = %s)")


def budgets_move(order, *, spend):
    """Take the order's cost out of `committed` in every budget it is booked in, adding it to
    `spent` if `spend`, else releasing it. One UPDATE through the link table: it runs for
    every order fulfilled or failed, and the ORM takes longer to compile this subquery UPDATE
    than the database takes to run it."""
    cost = connection.ops.adapt_decimalfield_value(order.cost)
    with connection.cursor() as cursor:
        cursor.execute(_budgets_move_sql(connection.vendor, spend),
                       [cost, *([cost] if spend else []), order.pk])


@cache
def _claim_sql(vendor, statuses, lock):
    state, attempts = column(Fulfillment, "state"), column(Fulfillment, "attempts")
    placeholders = ", ".join(["%s"] * statuses)
    return (f"UPDATE {table(Fulfillment)} SET {state} = %s, {attempts} = {attempts} + 1, "
            f"{column(Fulfillment, 'updated_at')} = %s "
            f"WHERE {column(Fulfillment, 'id')} = %s AND {state} = %s "
            f"AND {column(Fulfillment, 'round')} = %s AND {attempts} = %s AND EXISTS ("
            f"SELECT 1 FROM {table(ProgramOrder)} WHERE {column(ProgramOrder, 'id')} = %s "
            f"AND {column(ProgramOrder, 'status')} IN ({placeholders}){lock})")


def fulfillment_claim(fulfillment, *, active_statuses):
    """Claim one send attempt: mark the fulfillment sending if it is still as read (state,
    round, attempts) and its order is still in one of `active_statuses`. Returns whether it
    was claimed.

    One statement in autocommit, not a transaction around SELECT … FOR UPDATE and UPDATE:
    every send passes here, and the ORM locks rows only inside a transaction. The subquery
    takes the order's row lock, as a cancel or a manual move does before it checks
    `transitions.refuse_while_sending`: either that move commits first (PostgreSQL then
    re-checks the status and nothing is sent), or it sees this send and is refused. On
    SQLite a write transaction already excludes every other writer."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(connection.vendor, len(active_statuses), lock),
            [Fulfillment.State.SENDING, now, fulfillment.pk, fulfillment.state,
             fulfillment.round, fulfillment.attempts, fulfillment.order_id, *active_statuses],
        )
        return cursor.rowcount == 1
