"""The webhooks API: admins only, validation (400 with field errors), the write-only secret,
deliveries (paginated, fixed queries), the test event and redelivery."""

import pytest
from django.test import override_settings

from abmcrm.core import outbox
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def body(**fields):
    return {"url": "https://hooks.example.com/abm", "secret": "0123456789abcdef!",
            "events": [outbox.ACCOUNT_TIER_CHANGED], **fields}


def test_reps_and_marketers_may_not_touch_webhooks(api, rep, marketer, subscribe):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    for user in (rep, marketer):
        client = api.as_user(user)
        assert client.get("/api/v1/webhooks/").status_code == 403
        assert client.post("/api/v1/webhooks/", body(), format="json").status_code == 403
        assert client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").status_code == 403
        assert client.post(f"/api/v1/webhooks/{subscription.pk}/test/").status_code == 403
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/webhooks/").status_code == 401


@override_settings(ABMCRM_WEBHOOK_ALLOW_PRIVATE=False)
def test_admins_create_and_the_secret_is_never_answered(api, abm_admin):
    client = api.as_user(abm_admin)
    response = client.post("/api/v1/webhooks/", body(preset="hubspot"), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert "secret" not in data and data["preset"] == "hubspot" and data["is_active"]
    assert WebhookSubscription.objects.get().secret == "0123456789abcdef!"
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [row["id"] for row in listed] == [data["id"]] and "secret" not in listed[0]
    patched = client.patch(f"/api/v1/webhooks/{data['id']}/", {"is_active": False},
                           format="json")
    assert patched.status_code == 200 and not patched.json()["is_active"]
    assert WebhookSubscription.objects.get().secret == "0123456789abcdef!"


@override_settings(ABMCRM_WEBHOOK_ALLOW_PRIVATE=False, DEBUG=False)
@pytest.mark.parametrize("fields, field", [
    ({"url": "http://hooks.example.com/abm"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "https://127.0.0.1/hook"}, "url"),
    ({"url": "https://10.1.2.3/hook"}, "url"),
    ({"url": "https://[::1]/hook"}, "url"),
    ({"url": "https://localhost/hook"}, "url"),
    ({"url": "https://user:pw@hooks.example.com/"}, "url"),
    ({"events": ["account.exploded"]}, "events"),
    ({"events": []}, "events"),
    ({"events": "account.tier_changed"}, "events"),
    ({"events": [outbox.ACCOUNT_ENGAGED, "webhook.test"]}, "events"),
    ({"preset": "pipedrive"}, "preset"),
    ({"secret": "short"}, "secret"),
    ({"secret": None}, "secret"),
])
def test_bad_input_is_a_400_naming_the_field(api, abm_admin, fields, field):
    response = api.as_user(abm_admin).post("/api/v1/webhooks/", body(**fields), format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not WebhookSubscription.objects.exists()


@override_settings(ABMCRM_WEBHOOK_ALLOW_PRIVATE=False, DEBUG=True)
def test_debug_allows_plain_http_and_local_receivers(api, abm_admin):
    response = api.as_user(abm_admin).post(
        "/api/v1/webhooks/", body(url="http://127.0.0.1:8001/hook"), format="json")
    assert response.status_code == 201


def _deliveries(subscription, count):
    rows = []
    for n in range(count):
        event = outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=n, data={})
        rows.append(WebhookDelivery(subscription=subscription, event=event,
                                    event_type=event.type, account_id=n,
                                    status=Status.DELIVERED, attempts=1,
                                    last_status_code=200))
    WebhookDelivery.objects.bulk_create(rows)


@pytest.mark.parametrize("rows", [1, 50])
def test_deliveries_are_paginated_in_fixed_queries(api, abm_admin, subscribe, rows,
                                                   django_assert_max_num_queries):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    _deliveries(subscription, rows)
    client = api.as_user(abm_admin)
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/?page_size=50")
    data = response.json()
    assert response.status_code == 200 and len(data["results"]) == rows
    first = data["results"][0]
    assert set(first) >= {"id", "event", "type", "status", "attempts", "last_status_code",
                          "response_excerpt", "next_attempt_at"}
    assert first["type"] == outbox.ACCOUNT_ENGAGED and first["next_attempt_at"] is None
    filtered = client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/?status=dead")
    assert filtered.json()["results"] == []
    assert client.get(f"/api/v1/webhooks/{subscription.pk}/deliveries/?status=nope"
                      ).status_code == 400


def test_send_test_event_and_redeliver(api, abm_admin, subscribe, receiver,
                                       django_capture_on_commit_callbacks):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    client = api.as_user(abm_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/webhooks/{subscription.pk}/test/")
    assert response.status_code == 202
    [got] = receiver.snapshot()
    assert got.headers["X-Abmcrm-Event"] == "webhook.test"
    assert got.body["data"]["subscription_id"] == subscription.pk
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.DELIVERED
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.attempts == 1
    assert receiver.count() == 2 and receiver.snapshot()[1].delivery == got.delivery
    assert client.post("/api/v1/webhook-deliveries/999999/redeliver/").status_code == 404


def test_a_paused_subscription_gets_its_test_event_and_resumes(
        api, abm_admin, subscribe, receiver, django_capture_on_commit_callbacks):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED], is_active=False,
                             paused_reason="failing")
    client = api.as_user(abm_admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/webhooks/{subscription.pk}/test/").status_code == 202
    assert receiver.count() == 1
    assert WebhookSubscription.objects.get().is_active is False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"is_active": True},
                                format="json")
    assert response.json()["is_active"] and response.json()["paused_reason"] == ""
