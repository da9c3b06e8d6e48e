"""Provider webhooks (programs/fulfillment/webhooks.py), signed like a provider signs them."""


import pytest

from programs.models import Fulfillment, OrderEvent, ProgramOrder, ProviderEvent
from tests.factories import (
    BudgetFactory,
)
from tests.programs.fulfillment.helpers import provider_order

pytestmark = pytest.mark.django_db
S = ProgramOrder.Status
F = Fulfillment.State



class TestWebhook:
    def sent_gift(self, approve):
        order = approve(provider_order())
        return order, Fulfillment.objects.get(order=order)

    def test_delivered_fulfils_once(self, approve, fake_provider, webhook):
        budget = BudgetFactory(limit=1000)
        order, fulfillment = self.sent_gift(approve)
        event = {"id": "evt_1", "type": "gift.delivered", "data": {"id": fulfillment.external_id}}
        response = webhook("gifting", event)
        assert response.status_code == 200 and response.json() == {"status": "applied"}
        order.refresh_from_db()
        budget.refresh_from_db()
        assert order.status == S.FULFILLED and (budget.committed, budget.spent) == (0, 100)
        assert webhook("gifting", event).json() == {"status": "duplicate"}
        assert ProviderEvent.objects.count() == 1
        assert OrderEvent.objects.filter(order=order, to_status="fulfilled").count() == 1

    @pytest.mark.parametrize("kind", ["gift.returned", "gift.undeliverable"])
    def test_returned_or_undeliverable_fails(self, approve, fake_provider, webhook, kind):
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "evt_2", "type": kind, "data": {
            "id": fulfillment.external_id, "reason": "Recipient moved"}})
        assert response.json() == {"status": "applied"}
        order.refresh_from_db()
        assert order.status == S.FAILED and order.reason == "gifting: Recipient moved"

    def test_matches_by_idempotency_key_and_ignores_other_events(self, approve, fake_provider,
                                                                 webhook):
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "evt_3", "type": "gift.in_transit", "data": {
            "idempotency_key": fulfillment.idempotency_key}})
        assert response.json() == {"status": "ignored"}
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS

    @pytest.mark.parametrize("signature", [False, "sha256=deadbeef", "wrong-secret"])
    def test_bad_or_missing_signature_is_401_and_changes_nothing(
            self, approve, fake_provider, webhook, signature):
        order, fulfillment = self.sent_gift(approve)
        payload = {"id": "evt_4", "type": "gift.delivered",
                   "data": {"id": fulfillment.external_id}}
        if signature == "wrong-secret":
            response = webhook("gifting", payload, secret="not-the-secret")
        else:
            response = webhook("gifting", payload, signature=signature)
        assert response.status_code == 401
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
        assert not ProviderEvent.objects.exists()
        assert Fulfillment.objects.get(pk=fulfillment.pk).state == F.SENT

    def test_no_secret_configured_refuses_everything(self, approve, fake_provider, webhook,
                                                     monkeypatch):
        monkeypatch.delenv("ABMCRM_GIFTING_WEBHOOK_SECRET")
        order, fulfillment = self.sent_gift(approve)
        response = webhook("gifting", {"id": "e", "type": "gift.delivered",
                                       "data": {"id": fulfillment.external_id}}, secret="")
        assert response.status_code == 401

    def test_bad_input(self, approve, fake_provider, webhook, client):
        self.sent_gift(approve)
        assert webhook("gifting", {"type": "gift.delivered"}).status_code == 400
        assert webhook("gifting", {"id": "e9", "type": "gift.delivered",
                                   "data": {"id": "gift_404"}}).status_code == 404
        assert webhook("no-such-provider", {}).status_code == 404
        from tests.fake_provider import sign
        from tests.programs.conftest import WEBHOOK_SECRET

        response = client.post("/api/v1/providers/gifting/webhook/", data=b"not json",
                               content_type="application/json",
                               HTTP_X_ABMCRM_SIGNATURE=sign(b"not json", WEBHOOK_SECRET))
        assert response.status_code == 400
        assert not ProviderEvent.objects.exists()
