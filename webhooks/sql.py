"""The webhooks app's raw SQL: claiming a queue's head. Table and column names come from the
models' `_meta`.

Why not the ORM: a delivery is claimed once per attempt, and at 160 deliveries a second the
ORM's way (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT, and a read of the subscription) costs
four or five round trips to the database where one UPDATE … RETURNING does the same (a
single statement is its own transaction)."""

import functools

from django.db import connection

from abmcrm.core.db.names import column, table

from .models import WebhookDelivery, WebhookSubscription

RETURNED = ["id", "event", "event_type", "account_id", "attempts"]


@functools.cache
def _claim_sql(vendor, with_account):
    """The claim's statement, built once per database kind (names do not change while the
    process runs): building it took a fifth of a delivery's own CPU."""
    d, s = table(WebhookDelivery), table(WebhookSubscription)

    def dc(name):
        return column(WebhookDelivery, name)

    def sc(name):
        return column(WebhookSubscription, name)

    account = f"{dc('account_id')} = %s" if with_account else f"{dc('account_id')} IS NULL"
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    returned = ", ".join(f"{d}.{dc(name)}" for name in RETURNED)
    own = f"{s}.{sc('id')} = {d}.{dc('subscription')}"

    def of_subscription(expression):
        # Subqueries rather than UPDATE … FROM: SQLite's RETURNING names only the target.
        return f"(SELECT {expression} FROM {s} WHERE {own})"

    return (
        f"UPDATE {d} SET {dc('attempts')} = {d}.{dc('attempts')} + 1, "
        f"{dc('claimed_until')} = %s "
        f"WHERE {d}.{dc('id')} = (SELECT {dc('id')} FROM {d} "
        f"WHERE {dc('subscription')} = %s AND {account} AND {dc('status')} = %s "
        f"AND {dc('id')} <> %s ORDER BY {dc('id')} LIMIT 1{lock}) "
        f"AND EXISTS (SELECT 1 FROM {s} WHERE {own} AND {s}.{sc('is_active')}) "
        f"AND {d}.{dc('status')} = %s "
        f"AND ({d}.{dc('claimed_until')} IS NULL OR {d}.{dc('claimed_until')} <= %s) "
        f"AND ({d}.{dc('next_attempt_at')} IS NULL OR {d}.{dc('next_attempt_at')} <= %s) "
        # The payload as the database's text of it: the request's body, with no JSON
        # decoded and encoded again in Python for each attempt.
        f"RETURNING {returned}, CAST({d}.{dc('payload')} AS text), "
        f"{of_subscription(f'{s}.' + sc('url'))}, "
        f"{of_subscription(f'{s}.' + sc('secret'))}, "
        f"{of_subscription(f'{s}.' + sc('failing_since') + ' IS NOT NULL')}"
    )


def claim_head(subscription_id, account_id, *, now, due, until):
    """Claim the head of one (subscription, account) queue for one attempt: its pending
    delivery of lowest id, if it is due (next attempt at or before `due`), not held by
    another attempt, and its subscription is active. Counts the attempt and holds the
    delivery until `until`. Returns {field: value, "body" (the payload's JSON text), "url",
    "secret", "failing"} or None.

    The head is chosen under a row lock (PostgreSQL) and the claim re-checks it, so two
    workers claiming the same queue at once claim it once; never SKIP LOCKED, which would
    claim the second delivery while the first is being claimed."""
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor, account_id is not None),
                       _claim_params(subscription_id, account_id, now=now, due=due,
                                     until=until))
        return _claimed(cursor.fetchone())


CLAIMED = [*RETURNED, "body", "url", "secret", "failing"]


def _claim_params(subscription_id, account_id, *, now, due, until, excluding=0):
    adapt = connection.ops.adapt_datetimefield_value
    pending = WebhookDelivery.Status.PENDING.value
    return [adapt(until), subscription_id, *([account_id] if account_id is not None else []),
            pending, excluding, pending, adapt(now), adapt(due)]


def _claimed(row):
    if row is None or row[0] is None:
        return None
    found = dict(zip(CLAIMED, row, strict=True))
    found["failing"] = bool(found["failing"])
    return found


@functools.cache
def _delivered_sql(vendor, with_account):
    d = table(WebhookDelivery)

    def dc(name):
        return column(WebhookDelivery, name)

    account = f"n.{dc('account_id')} = %s" if with_account else f"n.{dc('account_id')} IS NULL"
    # (AS more: the statement is also a CTE of `_delivered_and_claim_sql`.)
    return (
        f"UPDATE {d} SET {dc('status')} = %s, {dc('delivered_at')} = %s, "
        f"{dc('last_status_code')} = %s, {dc('response_excerpt')} = %s, "
        f"{dc('last_error')} = '', {dc('claimed_until')} = NULL, "
        f"{dc('next_attempt_at')} = NULL "
        f"WHERE {dc('id')} = %s AND {dc('status')} = %s "
        f"RETURNING EXISTS (SELECT 1 FROM {d} n WHERE n.{dc('subscription')} = %s "
        f"AND {account} AND n.{dc('status')} = %s AND n.{dc('id')} <> %s) AS more"
    )


def mark_delivered(delivery_id, subscription_id, account_id, *, at, status_code, excerpt):
    """Record a delivered attempt; returns whether its queue still has a pending delivery.

    One statement for what is most of the work at volume (a CRM sync: one event an account):
    the record and the question "is there a next one?", which otherwise costs a claim that
    finds nothing. Asked after the claim is released, so a delivery created meanwhile is
    either seen here or claimed by the task its fan-out queued."""
    with connection.cursor() as cursor:
        cursor.execute(_delivered_sql(connection.vendor, account_id is not None),
                       _delivered_params(delivery_id, subscription_id, account_id, at=at,
                                         status_code=status_code, excerpt=excerpt))
        row = cursor.fetchone()
    return _more(row)


def _delivered_params(delivery_id, subscription_id, account_id, *, at, status_code, excerpt):
    pending = WebhookDelivery.Status.PENDING.value
    return [WebhookDelivery.Status.DELIVERED.value,
            connection.ops.adapt_datetimefield_value(at), status_code, excerpt,
            delivery_id, pending, subscription_id,
            *([account_id] if account_id is not None else []), pending, delivery_id]


def _more(row):
    # None: the delivery was no longer pending (redelivered meanwhile): look again.
    return True if row is None or row[0] is None else bool(row[0])


@functools.cache
def _delivered_and_claim_sql(vendor, with_account, next_with_account):
    return (f"WITH done AS ({_delivered_sql(vendor, with_account)}), "
            f"claimed AS ({_claim_sql(vendor, next_with_account)}) "
            "SELECT (SELECT more FROM done), claimed.* FROM (SELECT 1) AS one "
            "LEFT JOIN claimed ON TRUE")


def mark_delivered_and_claim(delivery_id, subscription_id, account_id, *, at, status_code,
                             excerpt, next_account_id, now, due, until):
    """`mark_delivered`, and `claim_head` of the queue of `next_account_id` (the same
    subscription; the same queue too: the delivery just recorded is not its head any more).
    Returns (whether the recorded delivery's queue has another pending delivery, the claimed
    head or None).

    On PostgreSQL one statement (two data-modifying CTEs): a delivery then costs the
    database one round trip besides its claim's first, where a record and a claim cost two;
    on a loaded machine each round trip waits for a core. Both parts see the same snapshot,
    so the claim never takes the delivery being recorded (`excluding`). Elsewhere the two
    statements, one after the other."""
    if connection.vendor != "postgresql":
        more = mark_delivered(delivery_id, subscription_id, account_id, at=at,
                              status_code=status_code, excerpt=excerpt)
        return more, claim_head(subscription_id, next_account_id, now=now, due=due,
                                until=until)
    delivered = _delivered_params(delivery_id, subscription_id, account_id, at=at,
                                  status_code=status_code, excerpt=excerpt)
    claim = _claim_params(subscription_id, next_account_id, now=now, due=due, until=until,
                          excluding=delivery_id)
    with connection.cursor() as cursor:
        cursor.execute(_delivered_and_claim_sql(connection.vendor, account_id is not None,
                                                next_account_id is not None),
                       [*delivered, *claim])
        row = cursor.fetchone()
    return _more(row[:1]), _claimed(row[1:])
