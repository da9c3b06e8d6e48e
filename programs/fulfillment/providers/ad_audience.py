from urllib.parse import quote

from .base import PermanentError, Provider, SendResult, WebhookEvent


def _result(member):
    status = str(member.get("status", "")).lower()
    outcome = {"active": "delivered", "added": "delivered", "rejected": "failed",
               "removed": "failed"}.get(status, "accepted")
    return SendResult(external_id=str(member.get("id", "")), status=outcome,
                      message=str(member.get("reason") or status), raw=member)


class AdAudienceProvider(Provider):
    """Adds the account's domain to an account-based ad audience through the ad platform's
    HTTP API. Once the platform lists the member as active the order is fulfilled.

    - `POST {base_url}/v1/audiences/{audience_id}/members` with `Idempotency-Key`
      → `{"id": "...", "status": "active" | "pending"}`
    - `GET …/members?idempotency_key=…` → `{"results": [member, …]}`
    - webhook: `{"id": "<event id>", "type": "member.active" | "member.rejected",
      "data": {"id": "<member id>", "reason": "…"}}`"""

    @property
    def audience_path(self):
        return f"/v1/audiences/{quote(str(self.options.get('audience_id', 'default')))}/members"

    def send(self, fulfillment):
        order = fulfillment.order
        member = self.request(
            "POST", self.audience_path,
            body={"domain": order.account.domain, "company": order.account.name,
                  "reference": f"order-{order.pk}"},
            idempotency_key=fulfillment.idempotency_key,
        )
        if not member.get("id"):
            raise PermanentError(f"{self.name} accepted the domain but returned no id.")
        return _result(member)

    def lookup(self, fulfillment):
        return self.find_by_idempotency_key(self.audience_path, fulfillment, _result)

    def parse_webhook(self, payload):
        event_id, kind, data, status = self.webhook_envelope(payload)
        outcome = {"active": "delivered", "rejected": "failed", "removed": "failed"}.get(status)
        return WebhookEvent(
            event_id=event_id, kind=kind, outcome=outcome,
            external_id=self.webhook_text(data, "id"),
            idempotency_key=self.webhook_text(data, "idempotency_key"),
            message=(self.webhook_text(data, "reason", limit=2000)
                     or f"The audience member was {status}."),
        )
