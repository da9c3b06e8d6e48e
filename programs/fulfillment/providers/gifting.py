
from .base import PermanentError, Provider, SendResult, WebhookEvent

FAILED = {"returned", "undeliverable", "cancelled", "failed"}
# Kinds that travel by post and so need a shipping address.
PHYSICAL = {"gift", "direct_mail"}


def _result(gift):
    status = str(gift.get("status", "")).lower()
    if status == "delivered":
        outcome = "delivered"
    elif status in FAILED:
        outcome = "failed"
    else:
        outcome = "accepted"
    return SendResult(external_id=str(gift.get("id", "")), status=outcome,
                      message=str(gift.get("reason") or status), raw=gift)


class GiftingProvider(Provider):
    """A gifting platform's JSON API (in the style of Sendoso or Reachdesk): a gift or a
    piece of mail is sent to a recipient; the answer carries the gift's id; delivery (or a
    return) arrives later by webhook.

    - `POST {base_url}/v1/gifts` with `Idempotency-Key` → `{"id": "...", "status": "..."}`
    - `GET {base_url}/v1/gifts?idempotency_key=…` → `{"results": [gift, …]}`
    - webhook: `{"id": "<event id>", "type": "gift.delivered" | "gift.returned" |
      "gift.undeliverable", "data": {"id": "<gift id>", "reason": "…"}}`"""

    def payload(self, fulfillment):
        order = fulfillment.order
        contact, account = order.contact, order.account
        if order.item.needs_contact and contact is None:
            raise PermanentError("This gift needs a recipient, and the order has none.")
        recipient = {
            "company": account.name, "country": account.country, "region": account.region,
        }
        if contact is not None:
            recipient.update(name=contact.full_name, email=contact.email, title=contact.title)
            if contact.has_address:
                recipient["address"] = {
                    "line1": contact.address_line1, "line2": contact.address_line2,
                    "city": contact.city, "postal_code": contact.postal_code,
                    "state": contact.state, "country": contact.country,
                }
            elif order.item.kind in PHYSICAL:
                raise PermanentError(
                    f"{contact.full_name or contact.email} has no shipping address: add one "
                    "to the contact (street, city, country), then retry the order.")
        return {
            "reference": f"order-{order.pk}",
            "gift": {"sku": f"abmcrm-item-{order.item_id}", "name": order.item.name,
                     "kind": order.item.kind},
            "recipient": recipient,
            "message": order.note,
        }

    def send(self, fulfillment):
        gift = self.request("POST", "/v1/gifts", body=self.payload(fulfillment),
                            idempotency_key=fulfillment.idempotency_key)
        if not gift.get("id"):
            raise PermanentError(f"{self.name} accepted the gift but returned no id.")
        return _result(gift)

    def lookup(self, fulfillment):
        return self.find_by_idempotency_key("/v1/gifts", fulfillment, _result)

    def parse_webhook(self, payload):
        event_id, kind, data, status = self.webhook_envelope(payload)
        outcome = "delivered" if status == "delivered" else (
            "failed" if status in FAILED else None)
        return WebhookEvent(
            event_id=event_id, kind=kind, outcome=outcome,
            external_id=self.webhook_text(data, "id"),
            idempotency_key=self.webhook_text(data, "idempotency_key"),
            message=(self.webhook_text(data, "reason", limit=2000)
                     or f"The gift was {status.replace('_', ' ')}."),
        )
