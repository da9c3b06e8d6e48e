"""Webhooks end to end with a real Celery worker process and a real receiver on 127.0.0.1:
a change commits, the outbox is dispatched, the delivery is sent, retried, re-sent after a
killed worker, swept after a broker outage, and kept in order per account.

The worker runs with the test settings: 2 s timeout, retries after 0.3 s doubling up to 2 s."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from abmcrm.core import outbox
from tests.conftest import WorkerProcess, wait_for
from tests.factories import AccountFactory, tier
from tests.programs.fulfillment.helpers import broker_unreachable
from tiers import services as tier_services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.worker
Status = WebhookDelivery.Status


def override(account, number, by):
    account.refresh_from_db()
    tier_services.account_tier_override(account=account, tier=tier(number), reason="test",
                                        by=by)


def delivered(count=1):
    def done():
        """the deliveries delivered"""
        return WebhookDelivery.objects.filter(status=Status.DELIVERED).count() >= count
    return done


def test_a_receiver_failing_twice_gets_the_event_three_times_with_one_id(
        celery_worker_process, receiver, subscribe, marketer):
    subscribe([outbox.ACCOUNT_TIER_CHANGED])
    receiver.script = [(500, {}), (503, {})]
    account = AccountFactory()
    override(account, 1, marketer)
    wait_for(delivered(), timeout=60)
    got = receiver.snapshot()
    assert len(got) == 3 and len({r.delivery for r in got}) == 1
    assert got[0].headers["X-Abmcrm-Event"] == outbox.ACCOUNT_TIER_CHANGED
    assert got[0].body["data"]["new_tier"]["number"] == 1
    # Backed off between attempts: the second wait about twice the first (±25 % jitter).
    first, second = got[1].at - got[0].at, got[2].at - got[1].at
    assert first >= 0.3 * 0.75 and second >= 0.6 * 0.75
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)


def test_a_receiver_that_times_out_is_retried_with_backoff(celery_worker_process, receiver,
                                                           subscribe, marketer):
    subscribe([outbox.ACCOUNT_TIER_CHANGED])
    receiver.script = [("hang", 3)]  # past the worker's 2 s timeout
    override(AccountFactory(), 2, marketer)
    wait_for(delivered(), timeout=60)
    first, second = receiver.snapshot()
    assert first.delivery == second.delivery
    assert second.at - first.at >= 2 + 0.3 * 0.75  # the timeout, then the backoff
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 2 and delivery.status == Status.DELIVERED


def test_a_worker_killed_mid_delivery_delivers_after_restart(
        celery_worker_process, receiver, subscribe, marketer, settings, tmp_path):
    settings.ABMCRM_WEBHOOK_STUCK_AFTER = 0
    subscribe([outbox.ACCOUNT_TIER_CHANGED])
    receiver.script = [("hang", 1.5)]
    override(AccountFactory(), 1, marketer)
    wait_for(lambda: receiver.count() == 1, timeout=60)
    celery_worker_process.kill()  # SIGKILL while the request is open
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING and delivery.attempts == 1
    restarted = WorkerProcess(connection.settings_dict["NAME"],
                              tmp_path / "worker2.log").start()
    try:
        def redriven():
            """the sweeper re-sent the delivery once the dead attempt's hold expired"""
            call_command("redrive", stdout=open("/dev/null", "w"))
            return WebhookDelivery.objects.get().status == Status.DELIVERED
        wait_for(redriven, timeout=60, interval=1)
    finally:
        restarted.stop()
    got = receiver.snapshot()
    assert len(got) == 2 and got[0].delivery == got[1].delivery


def test_the_broker_down_at_the_change_loses_nothing(celery_worker_process, receiver,
                                                     subscribe, marketer):
    subscribe([outbox.ACCOUNT_TIER_CHANGED])
    account = AccountFactory()
    with broker_unreachable():
        override(account, 3, marketer)  # committed; its dispatch task could not be queued
    assert not WebhookDelivery.objects.exists()
    assert receiver.count() == 0
    call_command("redrive", stdout=open("/dev/null", "w"))  # the broker is back
    wait_for(delivered(), timeout=60)
    [got] = receiver.snapshot()
    assert got.body["data"]["account_id"] == account.pk


def test_a_thousand_events_for_ten_accounts_arrive_in_order(celery_worker_process, receiver,
                                                            subscribe):
    subscribe([outbox.ACCOUNT_ENGAGED])
    for batch in range(10):
        with transaction.atomic():
            outbox.emit_many(outbox.ACCOUNT_ENGAGED, [
                (n % 10, {"n": n}) for n in range(batch * 100, batch * 100 + 100)])
    wait_for(delivered(1000), timeout=180, interval=0.5)
    seen = {}
    for got in receiver.snapshot():
        body = got.body
        seen.setdefault(body["data"]["n"] % 10, []).append(body["data"]["n"])
    assert sorted(seen) == list(range(10))
    for account, numbers in seen.items():
        assert numbers == sorted(numbers) and len(numbers) == 100, account
