"""Reading the outbox: the plays' and alerts' consumer.

`events_receive` is this app's `outbox_consumers` entry: the outbox's dispatcher hands it each
batch of new events inside its own transaction, and it only writes a receipt per event this
app cares about (one INSERT) and queues `tasks.handle_events` after the commit. The work —
firing plays, writing alerts, ordering — runs in that task, one transaction per event, so a
slow or failing play never holds up the outbox (the webhooks read the same batches).

Each event is handled once: the handler locks its receipt and handles only a receipt not
handled yet, marking it in the same transaction; each play's firing is claimed besides
(`runner.play_fire`). A task lost on the way (the broker was down, a worker died) is made up
for by the sweeper (`events_redrive`, in `manage.py redrive`)."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from abmcrm.core.models import OutboxEvent
from abmcrm.core.queueing import publish, publish_on_commit
from tiers.models import Account

from . import alerts, runner
from .conf import settings as conf
from .models import EventReceipt, Play

logger = logging.getLogger(__name__)

# Events handled per transaction.
BATCH = 50
# Published by name: the tasks module imports this one.
HANDLE_EVENTS = "plays.tasks.handle_events"


def _wanted_types():
    return set(Play.objects.filter(is_active=True).values_list("event", flat=True).distinct()) \
        | {str(kind) for kind in alerts.DIGEST_TYPES}


def events_receive(events):
    """The outbox consumer: receipts for the events a play or an alert may want (with an
    account), and the handling task queued after the commit."""
    wanted = _wanted_types()
    receipts = [EventReceipt(event_id=event.id) for event in events
                if event.type in wanted and event.account_id is not None]
    if receipts:
        # The outbox hands a batch over again when another consumer failed on it.
        EventReceipt.objects.bulk_create(receipts, ignore_conflicts=True)
        publish_on_commit(HANDLE_EVENTS)
    return len(receipts)


def event_handle(event, *, plays=None):
    """Fire the active plays of the event's type and write its alerts; inside the caller's
    transaction. `plays`: {type: [Play]} already read for a run of many events. Returns the
    plays' runs."""
    account = (Account.objects.select_related("tier", "owner")
               .filter(pk=event.account_id).first())
    if account is None:
        return []  # deleted since: nothing to act on
    if plays is None:
        plays = active_plays()
    runs = []
    for play in plays.get(event.type, ()):
        run = runner.play_fire(play=play, event=event, account=account)
        if run is not None:
            runs.append(run)
    alerts.alerts_record(event=event, account=account)
    return runs


def active_plays():
    """{event type: [active plays]}, in one query."""
    found = {}
    for play in Play.objects.filter(is_active=True).select_related("created_by").order_by("pk"):
        found.setdefault(play.event, []).append(play)
    return found


def events_handle(*, limit=None, batch=BATCH):
    """Handle the received events not handled yet, oldest first, `batch` of them per
    transaction: their receipts locked (on PostgreSQL a second handler at the same time skips
    them, `SKIP LOCKED`; SQLite serialises writers) and marked handled in that transaction.
    Each event is handled in a savepoint: one that fails is rolled back alone, its error
    kept on its receipt for the sweeper. Few, short write transactions also leave room for
    the web process's writes on SQLite. The plays are read once per run: a play changed
    meanwhile applies from the next run. Returns how many were handled."""
    handled, seen, after = 0, 0, None
    plays = active_plays()
    while limit is None or seen < limit:
        with transaction.atomic():
            pending = (EventReceipt.objects.select_for_update(skip_locked=True)
                       .filter(handled_at__isnull=True).order_by("event_id"))
            if after is not None:
                pending = pending.filter(event_id__gt=after)
            receipts = list(pending[:batch])
            if not receipts:
                break
            seen, after = seen + len(receipts), receipts[-1].event_id
            events = OutboxEvent.objects.in_bulk([r.event_id for r in receipts])
            done = []
            for receipt in receipts:
                event = events.get(receipt.event_id)
                try:
                    with transaction.atomic():
                        if event is not None:  # else pruned meanwhile: nothing to act on
                            event_handle(event, plays=plays)
                except Exception as exc:  # noqa: BLE001 - kept on the receipt; the sweeper retries
                    logger.exception("plays: handling event %s failed", receipt.event_id)
                    EventReceipt.objects.filter(pk=receipt.event_id).update(
                        attempts=F("attempts") + 1,
                        last_error=f"{type(exc).__name__}: {exc}"[:2000])
                else:
                    done.append(receipt.event_id)
            EventReceipt.objects.filter(pk__in=done).update(
                handled_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
            handled += len(done)
    return handled


def receipt_handle(event_id, *, plays=None):
    """Handle one received event if no one has: True if this call handled it."""
    with transaction.atomic():
        receipt = (EventReceipt.objects.select_for_update(skip_locked=True)
                   .filter(pk=event_id, handled_at__isnull=True).first())
        if receipt is None:
            return False  # handled already, or being handled by another worker right now
        EventReceipt.objects.filter(pk=event_id).update(attempts=receipt.attempts + 1)
        event = OutboxEvent.objects.filter(pk=event_id).first()
        if event is not None:  # else pruned meanwhile: nothing left to act on
            event_handle(event, plays=plays)
        EventReceipt.objects.filter(pk=event_id).update(handled_at=timezone.now(),
                                                        last_error="")
    return True


def events_redrive():
    """The sweeper: queue the handling of receipts left unhandled for a while (their task
    was lost, or failed), and of the immediate alerts not sent."""
    stale = timezone.now() - timedelta(seconds=conf.ABMCRM_PLAY_SWEEP_AFTER)
    waiting = EventReceipt.objects.filter(handled_at__isnull=True,
                                          received_at__lt=stale).exists()
    if waiting:
        publish(HANDLE_EVENTS)
    pruned = EventReceipt.objects.filter(
        handled_at__lt=timezone.now() - timedelta(days=conf.ABMCRM_PLAY_RECEIPT_DAYS)).delete()[0]
    return {"events": int(waiting), "pruned": pruned, **alerts.alerts_redrive()}
