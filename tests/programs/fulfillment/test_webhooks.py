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
        assert webhook("gifting", body=b"not json").status_code == 400
        assert not ProviderEvent.objects.exists()


class TestWebhookHardening:
    """What an outside caller may send: each is refused before anything is stored."""

    def event(self, approve):
        order = approve(provider_order())
        fulfillment = Fulfillment.objects.get(order=order)
        return order, {"id": "evt_h", "type": "gift.delivered",
                       "data": {"id": fulfillment.external_id}}

    def assert_nothing_changed(self, order):
        assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
        assert not ProviderEvent.objects.exists()

    @pytest.mark.parametrize("age", [-(10 * 365 * 86400), -301, 301])
    def test_a_timestamp_outside_the_tolerance_is_refused(self, approve, fake_provider,
                                                          webhook, age):
        import time

        order, payload = self.event(approve)
        response = webhook("gifting", payload, timestamp=time.time() + age)
        assert response.status_code == 401 and response.json()["code"] == "stale_timestamp"
        self.assert_nothing_changed(order)

    def test_an_event_signed_in_2001_is_not_applied(self, approve, fake_provider, webhook):
        order, payload = self.event(approve)
        assert webhook("gifting", payload, timestamp=978307200).status_code == 401
        self.assert_nothing_changed(order)

    def test_the_tolerance_is_a_setting(self, approve, fake_provider, webhook, settings):
        import time

        settings.ABMCRM_WEBHOOK_TOLERANCE_SECONDS = 3600
        order, payload = self.event(approve)
        assert webhook("gifting", payload, timestamp=time.time() - 1800).json() == {
            "status": "applied"}

    def test_the_signature_covers_the_timestamp(self, approve, fake_provider, webhook):
        """A captured signature does not fit a new timestamp, nor the body alone (the old
        scheme)."""
        import hashlib
        import hmac
        import json
        import time

        from tests.fake_provider import sign
        from tests.programs.conftest import WEBHOOK_SECRET

        order, payload = self.event(approve)
        body = json.dumps(payload).encode()
        old = int(time.time()) - 600
        replayed = webhook("gifting", payload, signature=sign(body, WEBHOOK_SECRET, old))
        body_only = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body,
                                         hashlib.sha256).hexdigest()
        assert replayed.status_code == 401 and replayed.json()["code"] == "bad_signature"
        assert webhook("gifting", payload, signature=body_only).status_code == 401
        self.assert_nothing_changed(order)

    @pytest.mark.parametrize("timestamp", ["", "abc", "1.5", "٣٤٥", "9" * 40])
    def test_a_missing_or_bad_timestamp_header_is_refused(self, approve, fake_provider,
                                                          client, timestamp):
        import json

        order, payload = self.event(approve)
        headers = {"HTTP_X_ABMCRM_SIGNATURE": "sha256=00"}
        if timestamp:
            headers["HTTP_X_ABMCRM_TIMESTAMP"] = timestamp
        response = client.post("/api/v1/providers/gifting/webhook/",
                               data=json.dumps(payload), content_type="application/json",
                               **headers)
        assert response.status_code == 401
        self.assert_nothing_changed(order)

    @pytest.mark.parametrize("signature", ["sha256=é", "sha256=\u2603" * 3, "\x00"])
    def test_a_signature_that_is_not_ascii_is_refused(self, approve, fake_provider, webhook,
                                                      signature):
        order, payload = self.event(approve)
        assert webhook("gifting", payload, signature=signature).status_code == 401
        self.assert_nothing_changed(order)

    @pytest.mark.parametrize("payload", [
        {"id": "e1", "type": "gift.delivered", "data": "abc"},
        {"id": "e1", "type": "gift.delivered", "data": [1]},
        {"id": "e1", "type": "gift.delivered", "data": {"id": {"nested": 1}}},
        {"id": "e" * 10_000, "type": "gift.delivered", "data": {}},
        {"id": ["e1"], "type": "gift.delivered", "data": {}},
        {"id": "e1", "type": "x" * 500, "data": {}},
        {"id": "e1", "type": 7, "data": {}},
        {"id": "e\x001", "type": "gift.delivered", "data": {}},
        {"id": "e1", "type": "gift.delivered", "data": {"id": "gift\x00_1"}},
        {"id": "e1", "type": "gift.delivered", "data": {"reason": "\ud800"}},
        [1, 2],
        "abc",
    ])
    def test_malformed_bodies_are_400(self, approve, fake_provider, webhook, payload):
        order, _ = self.event(approve)
        response = webhook("gifting", payload)
        assert response.status_code == 400, response.content
        self.assert_nothing_changed(order)

    @pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b"[" * 100_000,
                                      b'{"id": "e1", "type": "gift.delivered", "da\xff'])
    def test_bodies_that_are_not_json_are_400(self, approve, fake_provider, webhook, body):
        order, _ = self.event(approve)
        assert webhook("gifting", body=body).status_code == 400
        self.assert_nothing_changed(order)


@pytest.mark.django_db(transaction=True)
def test_a_non_ascii_signature_header_over_real_http_is_401(live_server, fake_provider):
    """Through a real HTTP server, as the probe sent it: the header's raw bytes are UTF-8."""
    import http.client
    import json
    from urllib.parse import urlparse

    url = urlparse(live_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    body = json.dumps({"id": "e", "type": "gift.delivered", "data": {}}).encode()
    connection.putrequest("POST", "/api/v1/providers/gifting/webhook/")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader("X-Abmcrm-Timestamp", b"1700000000")
    connection.putheader("X-Abmcrm-Signature", "sha256=ünïcødé".encode())
    connection.endheaders(body)
    response = connection.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["detail"]
