import pytest
from django.db import connection

from abmcrm.core import outbox
from abmcrm.core.models import OutboxEvent
from plays import consumer
from plays.models import Alert, EventReceipt, PlayRun, PlaySuggestion
from tests.conftest import fire_together
from tests.factories import PlayFactory, ProgramItemFactory, tier
from tiers.services.overrides import account_tier_override

pytestmark = pytest.mark.django_db


def test_a_tier_change_fires_its_plays_through_the_outbox(account, marketer, owner,
                                                          django_capture_on_commit_callbacks):
    """The change commits with its event; the outbox hands it over after the commit, the
    play fires and suggests; the owner gets an alert for the digest."""
    item = ProgramItemFactory(menu_tiers=[2])
    play = PlayFactory(conditions={"tier": [2]},
                       actions=[{"type": "suggest", "items": [item.pk]}])
    with django_capture_on_commit_callbacks(execute=True):
        account_tier_override(account=account, tier=tier(2), reason="Expansion", by=marketer)
    run = PlayRun.objects.get()
    assert (run.play, run.account, run.event_type) == (play, account, "account.tier_changed")
    assert PlaySuggestion.objects.get().item == item
    assert EventReceipt.objects.get().handled_at is not None
    alert = Alert.objects.get()
    assert (alert.user, alert.event_type, alert.immediate) == (owner, "account.tier_changed",
                                                               False)


def test_only_events_someone_wants_are_received(account):
    PlayFactory(event="opportunity.created")
    events = [OutboxEvent.objects.create(type=kind, account_id=account.pk, data={})
              for kind in ("funnel.transition", "opportunity.created", "account.6qa")]
    events.append(OutboxEvent.objects.create(type="account.6qa", data={}))  # no account
    assert consumer.events_receive(events) == 2
    assert set(EventReceipt.objects.values_list("event_id", flat=True)) == {
        events[1].id, events[2].id}
    # The outbox hands a batch over again when another consumer failed: no second receipt.
    assert consumer.events_receive(events) == 2
    assert EventReceipt.objects.count() == 2


def test_an_event_is_handled_once(account):
    PlayFactory()
    event = OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                       data={"new_tier": {"number": 1}})
    EventReceipt.objects.create(event_id=event.id)
    assert consumer.events_handle() == 1
    assert consumer.events_handle() == 0
    assert consumer.receipt_handle(event.id) is False
    # The play's notify and the owner's digest line: one each.
    assert PlayRun.objects.count() == 1
    assert sorted(Alert.objects.values_list("immediate", flat=True)) == [False, True]


def test_a_refused_action_is_logged_and_the_event_handled(account):
    event = OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                       data={"new_tier": "not a tier"})
    EventReceipt.objects.create(event_id=event.id)
    PlayFactory(actions=[{"type": "suggest", "items": [123456789]}])
    # An item deleted since the play was written is refused by the service: logged, not
    # an error. A receipt whose event vanished is handled as nothing to do.
    assert consumer.events_handle() == 1
    receipt = EventReceipt.objects.get()
    assert receipt.handled_at is not None and receipt.attempts == 1


def test_the_sweeper_queues_waiting_receipts_and_prunes_old_ones(account, settings):
    from datetime import timedelta

    from django.utils import timezone

    PlayFactory()
    settings.ABMCRM_PLAY_SWEEP_AFTER = 0
    event = OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                       data={})
    EventReceipt.objects.create(event_id=event.id)
    old = OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                     data={})
    EventReceipt.objects.create(event_id=old.id,
                                handled_at=timezone.now() - timedelta(days=61))
    result = consumer.events_redrive()  # tasks run eagerly here: the event is handled
    assert result["events"] == 1 and result["pruned"] == 1
    assert PlayRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers: no concurrent handling to race")
def test_a_play_fires_exactly_once_under_concurrent_handling(account, items):
    """Eight workers handle the same events at once, through the receipts and straight at
    the play (as a re-delivery would): one run, one set of suggestions, one order."""
    play = PlayFactory(actions=[{"type": "suggest", "items": [items[0].pk]},
                                {"type": "order", "items": [items[1].pk],
                                 "max_per_account": 5, "period": "year"}])
    events = [OutboxEvent.objects.create(type="account.tier_changed", account_id=account.pk,
                                         data={"new_tier": {"number": 1}}) for _ in range(3)]
    EventReceipt.objects.bulk_create([EventReceipt(event_id=e.id) for e in events])

    from plays import runner

    calls = [consumer.events_handle] * 4 + [
        (lambda e=e: runner.play_fire(play=play, event=e, account=account))
        for e in events for _ in range(2)]
    results = fire_together(calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert PlayRun.objects.count() == 3
    assert sorted(PlayRun.objects.values_list("event_id", flat=True)) == sorted(
        e.id for e in events)
    assert PlaySuggestion.objects.count() == 3
    from programs.models import ProgramOrder

    assert ProgramOrder.objects.count() == 3
    assert EventReceipt.objects.filter(handled_at__isnull=True).count() == 0


def test_outbox_consumer_is_declared():
    assert ("plays", consumer.events_receive) in outbox.consumers()
