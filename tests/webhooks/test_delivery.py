"""Fan-out and sending (webhooks/services), driven step by step against a real receiver on
127.0.0.1: signed requests, retries and their backoff, permanent refusals, dead letters, the
pause after a day of failures, order per account, and the sweeper."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from tests.factories import AccountFactory, AdminFactory, tier
from tests.webhooks.conftest import SECRET
from webhooks.models import WebhookDelivery
from webhooks.services import backoff, deliver_queue, deliveries_redrive
from webhooks.services.delivery import _retry_after

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def emit(type=outbox.ACCOUNT_ENGAGED, account_id=None, **data):
    event = outbox.emit(type, account_id=account_id, data=data)
    outbox.dispatch()
    return event


def make_due(*deliveries):
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=5))


def test_fan_out_creates_one_delivery_per_subscription_that_wants_the_type(subscribe):
    wants, other = subscribe([outbox.ACCOUNT_ENGAGED]), subscribe([outbox.ORDER_STATUS_CHANGED])
    subscribe([outbox.ACCOUNT_ENGAGED], is_active=False)
    event = emit(account_id=7)
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.subscription, delivery.event_id, delivery.account_id) == (wants, event.id, 7)
    assert not other.deliveries.exists()
    OutboxEvent.objects.update(dispatched_at=None)
    outbox.dispatch()  # handed over again: no second delivery
    assert WebhookDelivery.objects.count() == 1


def test_a_delivery_is_signed_and_carries_the_event(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    event = emit(account_id=3, engaged_at="2026-01-01T00:00:00+00:00")
    assert deliver_queue(subscription.pk, 3) == 1
    [got] = receiver.snapshot()
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Abmcrm-Event"] == outbox.ACCOUNT_ENGAGED
    assert got.delivery == str(event.id)
    timestamp = got.headers["X-Abmcrm-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + got.raw,
                        hashlib.sha256).hexdigest()
    assert got.headers["X-Abmcrm-Signature"] == f"sha256={expected}"
    assert got.body == {"id": str(event.id), "type": outbox.ACCOUNT_ENGAGED,
                        "occurred_at": event.occurred_at.isoformat(),
                        "data": {"engaged_at": "2026-01-01T00:00:00+00:00"}}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.DELIVERED, 1, 200)
    assert delivery.response_excerpt == '{"ok": true}' and delivery.delivered_at


def test_retries_until_the_receiver_answers_with_one_delivery_id(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.script = [(500, {}), (503, {})]
    emit(account_id=1)
    delivery = WebhookDelivery.objects.get()
    for expected in (Status.PENDING, Status.PENDING, Status.DELIVERED):
        make_due(delivery)
        deliver_queue(subscription.pk, 1)
        delivery.refresh_from_db()
        assert delivery.status == expected
    assert delivery.attempts == 3 and delivery.last_status_code == 200
    assert len({got.delivery for got in receiver.snapshot()}) == 1 and receiver.count() == 3


def test_a_retry_waits_and_429_honours_retry_after(subscribe, receiver, settings):
    settings.ABMCRM_WEBHOOK_RETRY_MAX = 3600
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.script = [(429, {"Retry-After": "120"})]
    emit(account_id=1)
    before = timezone.now()
    deliver_queue(subscription.pk, 1)
    delivery = WebhookDelivery.objects.get()
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 122 and delivery.last_status_code == 429
    assert deliver_queue(subscription.pk, 1) == 0  # not due yet: nothing sent
    assert receiver.count() == 1


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.ABMCRM_WEBHOOK_RETRY_BASE, settings.ABMCRM_WEBHOOK_RETRY_MAX = 10, 3600
    for attempts, base in ((1, 10), (2, 20), (3, 40), (6, 320)):
        delays = {backoff(attempts) for _ in range(50)}
        assert all(base * 0.75 <= delay <= base * 1.25 for delay in delays)
        assert len(delays) > 1  # jittered
    assert backoff(12) == 3600 and backoff(2, retry_after=9999) == 3600
    total = sum(min(10 * 2 ** (n - 1), 3600) for n in range(1, 12))
    assert 3 * 3600 < total < 4 * 3600  # 11 waits: about three and a half hours in all


@pytest.mark.parametrize(("jitter", "total"), [(1.0, 12_310), (0.75, 11_032.5),
                                               (1.25, 13_587.5)])
def test_the_retry_schedule_of_the_defaults_is_the_documented_one(settings, monkeypatch,
                                                                   jitter, total):
    """docs/apps/webhooks.md: 12 attempts, 10 s doubling, capped at 1 h: the 11 waits add up
    to 3 h 25 min 10 s (between 3 h 3 min 52.5 s and 3 h 46 min 27.5 s with the jitter)."""
    from webhooks.conf import DEFAULTS

    settings.ABMCRM_WEBHOOK_RETRY_BASE = DEFAULTS["ABMCRM_WEBHOOK_RETRY_BASE"]
    settings.ABMCRM_WEBHOOK_RETRY_MAX = DEFAULTS["ABMCRM_WEBHOOK_RETRY_MAX"]
    monkeypatch.setattr("random.uniform", lambda low, high: {1.0: 1.0, 0.75: low,
                                                             1.25: high}[jitter])
    waits = [backoff(n) for n in range(1, DEFAULTS["ABMCRM_WEBHOOK_MAX_ATTEMPTS"])]
    assert len(waits) == 11 and waits[-2:] == [3600, 3600]
    assert sum(waits) == pytest.approx(total)
    assert _retry_after("7") == 7 and _retry_after("nonsense") is None


def test_a_4xx_is_permanent_and_408_is_not(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.script = [(408, {}), (410, {})]
    emit(account_id=1)
    delivery = WebhookDelivery.objects.get()
    deliver_queue(subscription.pk, 1)
    make_due(delivery)
    deliver_queue(subscription.pk, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        Status.FAILED, 2, 410)
    assert "not retried" in delivery.last_error and delivery.next_attempt_at is None


def test_dead_lettered_after_the_last_attempt(subscribe, receiver, settings):
    settings.ABMCRM_WEBHOOK_MAX_ATTEMPTS = 3
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.default_status = 502
    emit(account_id=1)
    delivery = WebhookDelivery.objects.get()
    for _ in range(3):
        make_due(delivery)
        deliver_queue(subscription.pk, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DEAD, 3)


def test_network_errors_are_retried(subscribe):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED], url="http://127.0.0.1:9/nothing")
    emit(account_id=1)
    deliver_queue(subscription.pk, 1)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING and delivery.last_status_code is None
    assert delivery.last_error and delivery.next_attempt_at > timezone.now()
    assert delivery.last_error.startswith("Could not connect")  # not "Timed out"


def test_only_the_head_of_an_account_queue_is_sent(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.script = [(500, {})]
    first, second = emit(account_id=1, n=1), emit(account_id=1, n=2)
    other = emit(account_id=2, n=3)
    deliver_queue(subscription.pk, 1)  # the first fails: the second waits behind it
    deliver_queue(subscription.pk, 2)
    assert [got.delivery for got in receiver.snapshot()] == [str(first.id), str(other.id)]
    make_due(*WebhookDelivery.objects.all())
    deliver_queue(subscription.pk, 1)
    assert [got.delivery for got in receiver.snapshot()][2:] == [str(first.id), str(second.id)]


def test_several_queues_take_turns_each_in_order_one_statement_a_delivery(
        subscribe, receiver, django_assert_num_queries):
    """`deliver_queues` (a task's several queues): every delivery is sent, each account's in
    the order of its events; the record of a delivered attempt claims the next head in the
    same statement on PostgreSQL (elsewhere two)."""
    from django.db import connection

    from webhooks.services import deliver_queues

    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    events = [emit(account_id=account, n=n) for n, account in enumerate([1, 1, 2, 1, 2, 3])]
    statements = 1 + len(events) * (1 if connection.vendor == "postgresql" else 2)
    with django_assert_num_queries(statements):
        assert deliver_queues(subscription.pk, [1, 2, 3]) == 6
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {Status.DELIVERED}
    sent = [got.delivery for got in receiver.snapshot()]
    assert sorted(sent) == sorted(str(event.id) for event in events)
    for account in (1, 2, 3):
        ids = [str(event.id) for event in events if event.account_id == account]
        assert [delivery for delivery in sent if delivery in ids] == ids
    # Taking turns: the first of each account before the second of any.
    assert set(sent[:3]) == {str(events[0].id), str(events[2].id), str(events[5].id)}


def test_a_refused_head_lets_its_queue_and_the_others_go_on(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    first, second, other = emit(account_id=1), emit(account_id=1), emit(account_id=2)
    receiver.script = [(410, {})]
    from webhooks.services import deliver_queues

    assert deliver_queues(subscription.pk, [1, 2]) == 3
    statuses = dict(WebhookDelivery.objects.values_list("event_id", "status"))
    assert statuses == {first.id: Status.FAILED, second.id: Status.DELIVERED,
                        other.id: Status.DELIVERED}
    sent = [got.delivery for got in receiver.snapshot()]
    assert sent.index(str(first.id)) < sent.index(str(second.id))


def test_a_subscription_failing_for_a_day_is_paused_and_admins_are_mailed(
        subscribe, receiver, django_capture_on_commit_callbacks):
    admin = AdminFactory(email="admin@example.com")
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.default_status = 500
    emit(account_id=1)
    deliver_queue(subscription.pk, 1)
    subscription.refresh_from_db()
    assert subscription.failing_since and subscription.is_active
    type(subscription).objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - timedelta(hours=25))
    make_due(*WebhookDelivery.objects.all())
    with django_capture_on_commit_callbacks(execute=True):
        deliver_queue(subscription.pk, 1)
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.paused_at
    assert "failed since" in subscription.paused_reason
    [message] = mail.outbox
    assert message.to == [admin.email] and subscription.url in message.subject
    make_due(*WebhookDelivery.objects.all())
    assert deliver_queue(subscription.pk, 1) == 0  # paused: nothing sent


def test_a_success_clears_failing_since(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    receiver.script = [(500, {})]
    emit(account_id=1)
    deliver_queue(subscription.pk, 1)
    make_due(*WebhookDelivery.objects.all())
    deliver_queue(subscription.pk, 1)
    subscription.refresh_from_db()
    assert subscription.failing_since is None


def test_the_sweeper_queues_overdue_unclaimed_queues(subscribe, receiver, settings):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    emit(account_id=1)
    assert deliveries_redrive() == {"queued": 0, "not_queued": 0}  # just created
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5),
                                   claimed_until=timezone.now() + timedelta(minutes=1))
    assert deliveries_redrive() == {"queued": 0, "not_queued": 0}  # an attempt holds it
    WebhookDelivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert deliveries_redrive() == {"queued": 1, "not_queued": 0}  # eager: sent
    assert WebhookDelivery.objects.get().status == Status.DELIVERED
    assert subscription.deliveries.count() == 1


def test_hubspot_and_salesforce_presets_describe_the_account(subscribe, receiver):
    hubspot = subscribe([outbox.ACCOUNT_TIER_CHANGED], preset="hubspot")
    salesforce = subscribe([outbox.ACCOUNT_TIER_CHANGED], preset="salesforce")
    account = AccountFactory(tier=tier(2), external_id="001A", fit_score=71,
                             intent_score=40, engagement_score=12, surging_topics=["abm"])
    event = emit(outbox.ACCOUNT_TIER_CHANGED, account_id=account.pk)
    deliver_queue(hubspot.pk, account.pk)
    deliver_queue(salesforce.pk, account.pk)
    first, second = (got.body for got in receiver.snapshot())
    assert first["id"] == str(event.id) and first["objectType"] == "company"
    assert first["company"]["domain"] == account.domain
    assert first["properties"]["hs_ideal_customer_profile"] == "tier_two"
    assert first["properties"]["hs_is_target_account"] == "true"
    assert first["properties"]["abmcrm_fit_score"] == 71
    assert first["properties"]["abmcrm_surging_topics"] == "abm"
    assert second["sobject"] == "Account" and second["external_id"] == "001A"
    assert second["fields"] == {"ABM_Tier__c": 2, "Fit_Score__c": 71, "Intent_Score__c": 40,
                                "Engagement_Score__c": 12, "Buying_Stage__c": None,
                                "Is_6QA__c": False}


def test_the_6qa_event_fills_the_crm_fields_from_its_data(subscribe, receiver):
    salesforce = subscribe([outbox.ACCOUNT_6QA], preset="salesforce")
    # As the inmarket scoring leaves it: the account's fields say 6QA, then the event.
    account = AccountFactory(external_id="001B", is_6qa=True, buying_stage="decision")
    emit(outbox.ACCOUNT_6QA, account_id=account.pk, is_6qa=True, new_stage="decision")
    deliver_queue(salesforce.pk, account.pk)
    fields = receiver.snapshot()[0].body["fields"]
    assert (fields["Is_6QA__c"], fields["Buying_Stage__c"], fields["ABM_Tier__c"]) == (
        True, "decision", None)


def test_pruning_the_outbox_drops_its_deliveries(subscribe, receiver):
    subscription = subscribe([outbox.ACCOUNT_ENGAGED])
    emit(account_id=1)
    deliver_queue(subscription.pk, 1)
    OutboxEvent.objects.update(dispatched_at=timezone.now() - timedelta(days=31))
    assert outbox.prune() == 1 and not WebhookDelivery.objects.exists()


class TestProxy:
    """Deliveries honour the environment's proxy settings (HTTP_PROXY / NO_PROXY), as
    `requests` did: a host that reaches the internet only through a proxy still delivers.
    The receiver plays the proxy; the target's name does not resolve, so only a request
    through the proxy can arrive."""

    URL = "http://crm-receiver.invalid/hook"

    @pytest.fixture(autouse=True)
    def _fresh_pools(self, monkeypatch):
        from webhooks.services import delivery

        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(delivery, "_pool", (None, None))

    def test_a_delivery_goes_through_the_proxy(self, subscribe, receiver, monkeypatch):
        monkeypatch.setenv("HTTP_PROXY", receiver.url.rstrip("/"))
        subscription = subscribe([outbox.ACCOUNT_ENGAGED], url=self.URL)
        event = emit(account_id=4)
        assert deliver_queue(subscription.pk, 4) == 1
        [got] = receiver.snapshot()
        assert got.delivery == str(event.id)
        assert WebhookDelivery.objects.get().status == Status.DELIVERED

    def test_no_proxy_sends_directly(self, subscribe, receiver, monkeypatch):
        monkeypatch.setenv("HTTP_PROXY", receiver.url.rstrip("/"))
        monkeypatch.setenv("NO_PROXY", "crm-receiver.invalid")
        subscription = subscribe([outbox.ACCOUNT_ENGAGED], url=self.URL)
        emit(account_id=4)
        deliver_queue(subscription.pk, 4)
        assert receiver.count() == 0
        delivery = WebhookDelivery.objects.get()
        assert delivery.status != Status.DELIVERED and delivery.attempts == 1
