"""The webhooks app's writes: subscriptions, the outbox fan-out, sending."""

from .delivery import backoff, deliver_queue, deliver_queues, deliveries_redrive
from .fanout import events_fan_out
from .subscriptions import (
    TEST_EVENT,
    delivery_redeliver,
    subscribable_types,
    subscription_create,
    subscription_test,
    subscription_update,
)

__all__ = [
    "TEST_EVENT", "backoff", "deliver_queue", "deliver_queues", "deliveries_redrive",
    "delivery_redeliver", "events_fan_out", "subscribable_types", "subscription_create",
    "subscription_test", "subscription_update",
]
