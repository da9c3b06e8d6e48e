"""Thin Celery tasks of the webhooks app. The services publish them by name
(`abmcrm.core.queueing.publish`), never import them: the dependency runs one way, tasks →
services."""

from celery import shared_task


@shared_task(ignore_result=True)
def deliver_next(subscription_id, account_id):
    """Send the due deliveries of one (subscription, account) queue in order. A duplicate
    is harmless: only one task holds the queue's head at a time."""
    from .services.delivery import deliver_queue

    return deliver_queue(subscription_id, account_id)


@shared_task(ignore_result=True)
def deliver_queues(subscription_id, account_ids):
    """`deliver_next` for several queues of one subscription, taking turns."""
    from .services.delivery import deliver_queues

    return deliver_queues(subscription_id, account_ids)


@shared_task(ignore_result=True)
def send_test(delivery_id):
    """One attempt of the test event of an inactive subscription."""
    from .services.subscriptions import test_delivery_send

    test_delivery_send(delivery_id=delivery_id)
