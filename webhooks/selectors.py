"""Reads of the webhooks app."""

from .models import WebhookDelivery, WebhookSubscription


def subscription_list():
    return WebhookSubscription.objects.order_by("id")


def delivery_list(*, subscription=None):
    deliveries = WebhookDelivery.objects.order_by("-id")
    if subscription is not None:
        deliveries = deliveries.filter(subscription=subscription)
    return deliveries
