"""Fulfillment end to end with a real Celery worker process, the configured broker and the
fake provider (a real HTTP server). The Redis-stopped test runs its own redis-server."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.management import call_command

from abmcrm.core.exceptions import Conflict
from programs.fulfillment.queue import order_claim
from programs.models import Fulfillment, OrderEvent, ProgramOrder, ProviderEvent
from programs.services import order_cancel, order_transition
from tests.conftest import wait_for
from tests.factories import BudgetFactory, ContactFactory, ProgramItemFactory, ProgramOrderFactory

pytestmark = pytest.mark.worker
S = ProgramOrder.Status
F = Fulfillment.State


def gift_order(cost=100):
    item = ProgramItemFactory(fulfillment_method="gifting", needs_contact=True, unit_cost=cost)
    contact = ContactFactory()
    return ProgramOrderFactory(item=item, account=contact.account, contact=contact, cost=cost)


def fulfillment_in(order, *states):
    def check():
        f = Fulfillment.objects.filter(order=order).first()
        return f if f is not None and f.state in states else None

    check.__doc__ = f"order #{order.pk}'s fulfillment to be {states}"
    return check


def deliver(webhook, fulfillment, event_id="evt-delivered"):
    response = webhook("gifting", {"id": event_id, "type": "gift.delivered",
                                   "data": {"id": fulfillment.external_id}})
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def worker(fake_provider, celery_worker_process):
    """A worker started after the fake provider, so that it knows its address."""
    return celery_worker_process


def test_approve_to_fulfilled_end_to_end(fake_provider, worker, marketer, webhook):
    budget = BudgetFactory(limit=1000)
    order = gift_order(cost=150)
    order_transition(order=order, to=S.APPROVED, by=marketer)
    sent = wait_for(fulfillment_in(order, F.SENT))
    assert sent.external_id == "gift_1"
    assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
    deliver(webhook, sent)
    order.refresh_from_db()
    budget.refresh_from_db()
    assert order.status == S.FULFILLED and order.external_reference == "gift_1"
    assert (budget.committed, budget.spent) == (0, 150)
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == [
        "approved", "in_progress", "fulfilled"]
    assert len(fake_provider.posts()) == 1 and len(fake_provider.gifts) == 1
    # The rep was e-mailed that it was approved (by the send task: the gift was on its way)
    # and, through the notification task the webhook queued, that it was delivered.
    mailed = OrderEvent.objects.filter(order=order, notified_at__isnull=False)
    wait_for(lambda: set(mailed.values_list("to_status", flat=True)) == {"approved",
                                                                          "fulfilled"})


def test_audience_member_fulfilled_in_one_task_with_one_email(fake_provider, worker,
                                                              marketer):
    item = ProgramItemFactory(fulfillment_method="ad_audience", unit_cost=10)
    order = ProgramOrderFactory(item=item, cost=10)
    order_transition(order=order, to=S.APPROVED, by=marketer)
    wait_for(lambda: ProgramOrder.objects.filter(pk=order.pk, status=S.FULFILLED).exists())
    events = OrderEvent.objects.filter(order=order)
    # The worker mailed the outcome itself, after the commit; the approval a second
    # earlier was not mailed separately.
    wait_for(lambda: events.get(to_status="fulfilled").notified_at)
    assert events.get(to_status="approved").notified_at is None
    assert len(fake_provider.posts()) == 1


def test_provider_fails_twice_then_succeeds(fake_provider, worker, marketer, webhook):
    fake_provider.fail_next(2, status=503, message="Upstream busy")
    order = gift_order()
    order_transition(order=order, to=S.APPROVED, by=marketer)
    sent = wait_for(fulfillment_in(order, F.SENT))
    assert sent.attempts == 3
    assert len(fake_provider.posts()) == 3 and len(fake_provider.gifts) == 1
    deliver(webhook, sent)
    assert ProgramOrder.objects.get(pk=order.pk).status == S.FULFILLED


def test_worker_killed_mid_send_sends_exactly_once(fake_provider, worker, marketer, webhook):
    fake_provider.delay = 30  # the provider takes the gift, then is slow to answer
    order = gift_order()
    order_transition(order=order, to=S.APPROVED, by=marketer)
    wait_for(lambda: fake_provider.posts(), timeout=30)
    worker.kill()  # SIGKILL while the worker waits for the answer
    fake_provider.delay = 0
    stuck = Fulfillment.objects.get(order=order)
    assert stuck.state == F.SENDING and stuck.external_id == ""
    # The order moves by the provider's answer, which never came; until the sweeper has
    # asked the provider, nobody may take the order over or cancel it.
    order = ProgramOrder.objects.get(pk=order.pk)
    assert order.status == S.APPROVED
    with pytest.raises(Conflict, match="being sent"):
        order_claim(order=order, by=marketer)
    with pytest.raises(Conflict, match="being sent"):
        order_cancel(order=order, by=marketer)

    worker.start()
    call_command("redrive_fulfillment", "--older-than", "0", verbosity=0)
    sent = wait_for(fulfillment_in(order, F.SENT))
    assert sent.external_id == "gift_1"
    # Reconciled by idempotency key: the provider was asked, not sent to again.
    assert len(fake_provider.gifts) == 1 and len(fake_provider.posts()) == 1
    deliver(webhook, sent)
    assert ProgramOrder.objects.get(pk=order.pk).status == S.FULFILLED
    assert len(fake_provider.gifts) == 1


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, which the test may stop and start."""

    def __init__(self, port):
        self.port, self.process = port, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(monkeypatch):
    """Point the broker (here and in a worker started after this) at our own Redis."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    from abmcrm.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    redis = PrivateRedis(_free_port()).start()
    monkeypatch.setenv("CELERY_BROKER_URL", redis.url)
    app.conf.broker_url = redis.url
    app.conf.broker_transport_options = {"visibility_timeout": 7200,
                                         "socket_connect_timeout": 1}
    app._pool = None
    app.amqp._producer_pool = None
    yield redis
    redis.stop()
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._pool = None
    app.amqp._producer_pool = None


def test_redis_stopped_during_approval(fake_provider, private_redis, celery_worker_process,
                                       marketer, webhook):
    order = gift_order()
    private_redis.stop()
    started = time.monotonic()
    order_transition(order=order, to=S.APPROVED, by=marketer)
    elapsed = time.monotonic() - started
    assert elapsed < 2, f"approval took {elapsed:.2f} s with the broker down"
    order.refresh_from_db()
    waiting = Fulfillment.objects.get(order=order)
    assert order.status == S.APPROVED
    assert waiting.state == F.PENDING and waiting.dispatched_at is None

    private_redis.start()
    call_command("redrive_fulfillment", verbosity=0)
    sent = wait_for(fulfillment_in(order, F.SENT), timeout=60)
    deliver(webhook, sent)
    assert ProgramOrder.objects.get(pk=order.pk).status == S.FULFILLED
    # Swept again: nothing left to send.
    call_command("redrive_fulfillment", "--older-than", "0", verbosity=0)
    time.sleep(1)
    assert len(fake_provider.gifts) == 1 and len(fake_provider.posts()) == 1


def test_webhook_with_wrong_signature_changes_nothing(fake_provider, worker, marketer,
                                                      webhook):
    order = gift_order()
    order_transition(order=order, to=S.APPROVED, by=marketer)
    sent = wait_for(fulfillment_in(order, F.SENT))
    response = webhook("gifting", {"id": "evt-x", "type": "gift.delivered",
                                   "data": {"id": sent.external_id}}, secret="guessed")
    assert response.status_code == 401
    assert ProgramOrder.objects.get(pk=order.pk).status == S.IN_PROGRESS
    assert Fulfillment.objects.get(pk=sent.pk).state == F.SENT
    assert not ProviderEvent.objects.exists()


def test_worker_keeps_its_database_connection_between_tasks(fake_provider, worker, marketer):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("Counts the worker's sessions in pg_stat_activity (PostgreSQL).")

    def worker_sessions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid()")
            return {pid for (pid,) in cursor.fetchall()}

    def fulfil_one():
        item = ProgramItemFactory(fulfillment_method="ad_audience", unit_cost=10)
        order = ProgramOrderFactory(item=item, cost=10)
        order_transition(order=order, to=S.APPROVED, by=marketer)
        wait_for(lambda: ProgramOrder.objects.filter(pk=order.pk, status=S.FULFILLED).exists())

    fulfil_one()
    # Celery alone would close the connection after the task; it stays open for the next.
    before = wait_for(worker_sessions)
    fulfil_one()
    assert before & worker_sessions()
