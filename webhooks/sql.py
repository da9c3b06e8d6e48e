"""The webhooks app's raw SQL: claiming a queue's head. Table and column names come from the
models' `_meta`.

Why not the ORM: a delivery is claimed once per attempt, and at 160 deliveries a second the
ORM's way (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT, and a read of the subscription) costs
four or five round trips to the database where one UPDATE … RETURNING does the same (a
single statement is its own transaction)."""

import json

from django.db import connection

from abmcrm.core.db.names import column, table

from .models import WebhookDelivery, WebhookSubscription

RETURNED = ["id", "event", "event_type", "account_id", "payload", "attempts"]


def claim_head(subscription_id, account_id, *, now, due, until):
    """Claim the head of one (subscription, account) queue for one attempt: its pending
    delivery of lowest id, if it is due (next attempt at or before `due`), not held by
    another attempt, and its subscription is active. Counts the attempt and holds the
    delivery until `until`. Returns {field: value, "url", "secret", "failing"} or None.

    The head is chosen under a row lock (PostgreSQL) and the claim re-checks it, so two
    workers claiming the same queue at once claim it once; never SKIP LOCKED, which would
    claim the second delivery while the first is being claimed."""
    d, s = table(WebhookDelivery), table(WebhookSubscription)

    def dc(name):
        return column(WebhookDelivery, name)

    def sc(name):
        return column(WebhookSubscription, name)

    adapt = connection.ops.adapt_datetimefield_value
    account = f"{dc('account_id')} = %s" if account_id is not None else \
        f"{dc('account_id')} IS NULL"
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    returned = ", ".join(f"{d}.{dc(name)}" for name in RETURNED)
    own = f"{s}.{sc('id')} = {d}.{dc('subscription')}"

    def of_subscription(expression):
        # Subqueries rather than UPDATE … FROM: SQLite's RETURNING names only the target.
        return f"(SELECT {expression} FROM {s} WHERE {own})"

    sql = (
        f"UPDATE {d} SET {dc('attempts')} = {d}.{dc('attempts')} + 1, "
        f"{dc('claimed_until')} = %s "
        f"WHERE {d}.{dc('id')} = (SELECT {dc('id')} FROM {d} "
        f"WHERE {dc('subscription')} = %s AND {account} AND {dc('status')} = %s "
        f"ORDER BY {dc('id')} LIMIT 1{lock}) "
        f"AND EXISTS (SELECT 1 FROM {s} WHERE {own} AND {s}.{sc('is_active')}) "
        f"AND {d}.{dc('status')} = %s "
        f"AND ({d}.{dc('claimed_until')} IS NULL OR {d}.{dc('claimed_until')} <= %s) "
        f"AND ({d}.{dc('next_attempt_at')} IS NULL OR {d}.{dc('next_attempt_at')} <= %s) "
        f"RETURNING {returned}, {of_subscription(f'{s}.' + sc('url'))}, "
        f"{of_subscription(f'{s}.' + sc('secret'))}, "
        f"{of_subscription(f'{s}.' + sc('failing_since') + ' IS NOT NULL')}"
    )
    pending = WebhookDelivery.Status.PENDING.value
    params = [adapt(until), subscription_id, *([account_id] if account_id is not None else []),
              pending, pending, adapt(now), adapt(due)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip([*RETURNED, "url", "secret", "failing"], row, strict=True))
    if isinstance(found["payload"], str):  # SQLite answers JSON as text
        found["payload"] = json.loads(found["payload"])
    found["failing"] = bool(found["failing"])
    return found
