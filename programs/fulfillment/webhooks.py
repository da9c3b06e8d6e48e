"""Provider webhooks: a verified event moves its fulfillment (and order) once."""

from django.db import IntegrityError, transaction
from django.db.models import Q

from abmcrm.core.exceptions import InvalidInput

from ..models import Fulfillment, ProviderEvent
from .sending import finish_delivered, finish_failed


def webhook_receive(*, provider, event, payload):
    """Apply one verified webhook event. Idempotent on the provider's event id. Returns
    "applied", "duplicate" or "ignored"; InvalidInput if no fulfillment matches (the
    provider retries later, e.g. when its webhook overtook our storing of its id)."""
    match = Q()
    if event.external_id:
        match |= Q(external_id=event.external_id)
    if event.idempotency_key:
        match |= Q(idempotency_key=event.idempotency_key)
    fulfillment = (
        Fulfillment.objects.filter(match, provider=provider.name).order_by("-round").first()
        if match else None
    )
    if fulfillment is None:
        raise InvalidInput("No fulfillment matches this event's id.", code="unknown_fulfillment")
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(provider=provider.name, event_id=event.event_id,
                                         fulfillment=fulfillment, kind=event.kind,
                                         payload=payload)
            if event.outcome == "delivered":
                done = finish_delivered(fulfillment, event.external_id,
                                         note=f"{provider}: {event.kind}.")
            elif event.outcome == "failed":
                done = finish_failed(fulfillment, f"{provider}: {event.message}")
            else:
                done = None
    except IntegrityError:
        return "duplicate"
    return "applied" if done else "ignored"
