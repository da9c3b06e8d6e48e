"""Subscriptions and the deliveries admins act on: the test event, redelivery, resuming."""

from django.db import transaction
from django.utils import timezone

from abmcrm.core import outbox
from abmcrm.core.exceptions import Conflict
from abmcrm.core.queueing import publish

from ..models import WebhookDelivery, WebhookSubscription
from . import presets
from .fanout import queues_publish

TEST_EVENT = "webhook.test"
Status = WebhookDelivery.Status


def subscribable_types():
    """The event types a subscription may name: every outbox type but the test event."""
    return sorted(set(outbox.event_types()) - {TEST_EVENT})


def subscription_create(*, by, **fields):
    return WebhookSubscription.objects.create(created_by=by if getattr(by, "pk", None)
                                              else None, **fields)


def subscription_update(*, subscription, **fields):
    """Change a subscription; setting it active again resumes it: the pause is cleared and
    its pending deliveries are sent."""
    resuming = fields.get("is_active") is True and not subscription.is_active
    for name, value in fields.items():
        setattr(subscription, name, value)
    if resuming:
        subscription.paused_at, subscription.paused_reason = None, ""
        subscription.failing_since = None
    with transaction.atomic():
        subscription.save()
        if resuming:
            queues = list(WebhookDelivery.objects.filter(
                subscription=subscription, status=Status.PENDING).order_by()
                .values_list("subscription_id", "account_id").distinct())
            WebhookDelivery.objects.filter(subscription=subscription,
                                           status=Status.PENDING).update(
                next_attempt_at=timezone.now())
            transaction.on_commit(lambda: queues_publish(queues))
    return subscription


def subscription_test(*, subscription):
    """Send a test event to this subscription only (whether active or not it is sent: the
    admin asked). Returns the delivery."""
    with transaction.atomic():
        event = outbox.emit(TEST_EVENT, data={"subscription_id": subscription.pk,
                                              "message": "A test event from abmcrm."})
        delivery = WebhookDelivery.objects.create(
            subscription=subscription, event=event, event_type=event.type, account_id=None,
            payload=presets.payload(subscription.preset, event, None),
            next_attempt_at=timezone.now())
        if not subscription.is_active:
            # Tried once by a task of its own; the paused subscription stays paused.
            transaction.on_commit(lambda: _publish_test(delivery.pk))
        else:
            transaction.on_commit(lambda: queues_publish([(subscription.pk, None)]))
    return delivery


def _publish_test(delivery_id):
    publish("webhooks.tasks.send_test", delivery_id)


def test_delivery_send(*, delivery_id):
    """A test delivery of an inactive subscription: one attempt."""
    from . import delivery as sending

    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    delivery.attempts += 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts)
    code, excerpt, error, _ = sending.post(
        url=delivery.subscription.url, secret=delivery.subscription.secret,
        event_id=delivery.event_id, event_type=delivery.event_type, payload=delivery.payload)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.DELIVERED if code and 200 <= code < 300 else Status.FAILED,
        last_status_code=code or None, response_excerpt=excerpt, last_error=error,
        delivered_at=timezone.now() if code and 200 <= code < 300 else None,
        next_attempt_at=None)


def delivery_redeliver(*, delivery):
    """Try a delivery again from its first attempt (a dead-lettered or refused one, or a
    delivered one the receiver lost). 409 while an attempt is under way."""
    now = timezone.now()
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status == Status.PENDING and current.claimed_until and \
                current.claimed_until > now:
            raise Conflict("This delivery is being sent right now; try again once the "
                           "attempt has ended.", code="delivery_in_flight")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING, attempts=0, next_attempt_at=now, claimed_until=None,
            last_error="", delivered_at=None)
        queue = (current.subscription_id, current.account_id)
        transaction.on_commit(lambda: queues_publish([queue]))
    delivery.refresh_from_db()
    return delivery
