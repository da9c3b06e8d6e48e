"""The outbox (abmcrm/core/outbox.py): events exist if and only if their change committed,
are written in bulk, dispatched in order to every consumer once, and pruned."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from abmcrm.core import outbox
from abmcrm.core.ids import time_ordered_uuid
from abmcrm.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

received = []
failures = []


def record(events):
    """A consumer (named by dotted path in the AppConfig hook)."""
    received.extend((event.type, event.account_id, event.data) for event in events)


def flaky(events):
    if failures:
        failures.pop()
        raise RuntimeError("consumer down")
    received.extend(event.id for event in events)


@pytest.fixture
def consumer(monkeypatch):
    """Declare `path` as the core app's only outbox consumer."""
    received.clear()
    failures.clear()
    config = apps.get_app_config("abmcore")

    def declare(path):
        monkeypatch.setattr(config, "outbox_consumers", [("test", path)], raising=False)

    return declare


def test_time_ordered_ids_increase():
    ids = [time_ordered_uuid() for _ in range(10_000)]
    assert ids == sorted(ids) and len(set(ids)) == 10_000
    assert ids[0].version == 7


def test_an_event_exists_only_if_its_transaction_committed():
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=1, data={"x": 1})
            raise RuntimeError("the change fails")
    assert not OutboxEvent.objects.exists()
    with transaction.atomic():
        event = outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=1, data={"x": 1})
    assert OutboxEvent.objects.get().id == event.id


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="Unknown outbox event type"):
        outbox.emit("account.exploded", data={})


def test_emit_many_is_one_insert_and_queues_one_dispatch(django_assert_num_queries,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with django_assert_num_queries(1):
            written = outbox.emit_many(outbox.ACCOUNT_TIER_CHANGED,
                                       [(pk, {"n": pk}) for pk in range(1, 101)])
        outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=1, data={})
    assert written == 100 and len(callbacks) == 1
    assert [e.account_id for e in OutboxEvent.objects.all()] == [*range(1, 101), 1]


def test_dispatch_hands_every_event_in_order_once(consumer,
                                                  django_capture_on_commit_callbacks):
    consumer("tests.core.test_outbox.record")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=0, data={"n": 0})
    # The task queued after the commit (eager here) handed the event over.
    assert received == [(outbox.ACCOUNT_ENGAGED, 0, {"n": 0})]
    for pk in range(1, 5):
        outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=pk, data={"n": pk})
    assert outbox.dispatch(batch=3) == 4
    assert [account for _, account, _ in received] == [0, 1, 2, 3, 4]
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    assert outbox.dispatch() == 0 and len(received) == 5


def test_a_failing_consumer_leaves_the_batch_for_the_sweeper(consumer):
    consumer("tests.core.test_outbox.flaky")
    failures.append(1)
    event = outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=1, data={})
    assert outbox.dispatch() == 0
    assert received == [] and OutboxEvent.objects.get().dispatched_at is None
    assert outbox.outbox_redrive() == {"dispatched": 1, "pruned": 0}
    assert received == [event.id]


def test_no_consumer_still_marks_events_dispatched():
    outbox.emit(outbox.ORDER_STATUS_CHANGED, account_id=1, data={})
    assert outbox.dispatch() == 1
    assert OutboxEvent.objects.get().dispatched_at is not None


def test_prune_deletes_only_old_dispatched_events(settings):
    settings.ABMCRM_OUTBOX_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent = (outbox.emit(outbox.ACCOUNT_ENGAGED, account_id=n, data={}) for n in (1, 2))
    OutboxEvent.objects.filter(pk=old.pk).update(dispatched_at=now - timedelta(days=31))
    pending = OutboxEvent.objects.create(type=outbox.ACCOUNT_ENGAGED, account_id=3)
    assert outbox.prune(now=now) == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    settings.ABMCRM_OUTBOX_RETENTION_DAYS = None
    OutboxEvent.objects.update(dispatched_at=now - timedelta(days=400))
    assert outbox.prune(now=now) == 0


def test_host_apps_declare_more_types(monkeypatch):
    monkeypatch.setattr(apps.get_app_config("abmcore"), "outbox_event_types",
                        {"host.thing": "a host's own event"}, raising=False)
    assert outbox.emit("host.thing", data={}).type == "host.thing"
