"""From the outbox to deliveries: the outbox consumer (`events_fan_out`, declared in
apps.py) turns each event into one delivery per active subscription that wants its type, in
the dispatcher's transaction, and queues each touched (subscription, account) queue after
the commit."""

from django.db import transaction
from django.utils import timezone

from abmcrm.core.queueing import publish

from ..models import WebhookDelivery, WebhookSubscription
from . import presets


def events_fan_out(events):
    """Create the deliveries of `events` (OutboxEvent, in order). Idempotent: an event
    handed over again gets no second delivery (unique per subscription and event)."""
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True)
                     if s.events]
    if not subscriptions:
        return 0
    wanted = [(event, s) for event in events for s in subscriptions if event.type in s.events]
    if not wanted:
        return 0
    accounts = presets.accounts_for([event for event, _ in wanted])
    now = timezone.now()
    rows = [WebhookDelivery(subscription=s, event=event, event_type=event.type,
                            account_id=event.account_id,
                            payload=presets.payload(s.preset, event,
                                                    accounts.get(event.account_id)),
                            next_attempt_at=now, created_at=now)
            for event, s in wanted]
    # In event order, so that ids order each queue as the events are ordered.
    WebhookDelivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    queues = list(dict.fromkeys((s.pk, event.account_id) for event, s in wanted))
    transaction.on_commit(lambda: queues_publish(queues))
    return len(rows)


# A task sends up to this many queues one after the other: a task costs the worker more than
# a delivery's own database work. Fewer queues a task when few are waiting, so that they
# still go out in parallel.
QUEUES_PER_TASK = 10
SPREAD = 16


def queues_publish(queues):
    """Queue the delivery tasks of (subscription id, account id) queues; a queue whose task
    cannot be queued (broker down) waits for the sweeper."""
    by_subscription = {}
    for subscription_id, account_id in queues:
        by_subscription.setdefault(subscription_id, []).append(account_id)
    for subscription_id, accounts in by_subscription.items():
        size = max(1, min(QUEUES_PER_TASK, -(-len(accounts) // SPREAD)))
        for start in range(0, len(accounts), size):
            publish("webhooks.tasks.deliver_queues", subscription_id, accounts[start:start + size])
