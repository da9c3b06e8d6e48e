"""The outbox: one internal stream of what happened (docs/ref/events.md).

A service that changes something writes an event in the same transaction
(`emit`, or `emit_many` for a set-based change), so an event exists if and only if its change
committed. After the commit a task (`dispatch`) hands the new events, in order, to every
installed app's consumers (the AppConfig attribute `outbox_consumers`, e.g. the webhooks'
fan-out), each in a savepoint of one transaction that also marks the events dispatched. A
consumer must be idempotent on the event's `id`: a batch whose consumer failed is handed
over again, to every consumer (the others' work for it committed already).

Order: events are read in the order they were written (`id` is time-ordered). Two events of
one account written by two transactions that both update the account's row are in commit
order, since the second transaction waits on the first's row lock before it writes its
event.

The dispatch task may be lost (the broker was down at the commit, a worker died): the
sweeper (`outbox_redrive`, in `manage.py redrive`) dispatches what is still waiting, and
prunes the events dispatched more than ABMCRM_OUTBOX_RETENTION_DAYS ago.
"""

import logging
from datetime import timedelta

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .conf import settings as conf
from .ids import time_ordered_hex
from .queueing import publish

logger = logging.getLogger(__name__)

ACCOUNT_TIER_CHANGED = "account.tier_changed"
ACCOUNT_SURGING = "account.surging"
ACCOUNT_ENGAGED = "account.engaged"
ACCOUNT_6QA = "account.6qa"
ACCOUNT_BUYING_STAGE_CHANGED = "account.buying_stage_changed"
ORDER_STATUS_CHANGED = "order.status_changed"
FUNNEL_TRANSITION = "funnel.transition"
OPPORTUNITY_CREATED = "opportunity.created"
OPPORTUNITY_STAGE_CHANGED = "opportunity.stage_changed"

# The event types abmcrm writes, each with who writes it (the data of each: docs/ref/events.md).
EVENT_TYPES = {
    ACCOUNT_TIER_CHANGED: "tiers: a recompute, an override or a rule moved the account",
    ACCOUNT_SURGING: "tiers: a recompute found one or more intent topics newly surging",
    ACCOUNT_ENGAGED: "tiers: the account got its first recent meaningful engagement",
    ACCOUNT_6QA: "inmarket: the account became 6QA, or stopped being it",
    ACCOUNT_BUYING_STAGE_CHANGED: "inmarket: the account's buying stage changed",
    ORDER_STATUS_CHANGED: "programs: an order changed status",
    FUNNEL_TRANSITION: "funnel: an account or lead moved between funnel stages",
    OPPORTUNITY_CREATED: "pipeline: a deal was created",
    OPPORTUNITY_STAGE_CHANGED: "pipeline: a deal moved to another stage",
}
# Events handed to the consumers in one transaction.
DISPATCH_BATCH = 1000
# Dispatched events pruned by one DELETE (the sweep repeats it).
PRUNE_BATCH = 10_000


def event_types():
    """{type: description} of every event type: abmcrm's, and those a host's apps declare
    in their AppConfig attribute `outbox_event_types` ({type: description})."""
    found = dict(EVENT_TYPES)
    for config in apps.get_app_configs():
        found.update(getattr(config, "outbox_event_types", {}))
    return found


def _check_type(type):
    if type not in event_types():
        raise ValueError(f"Unknown outbox event type {type!r}: declare it in an AppConfig's "
                         "`outbox_event_types`.")


def emit(type, *, account_id=None, data, occurred_at=None):
    """Write one event in the current transaction and have it dispatched after the commit.
    Returns the OutboxEvent."""
    from .models import OutboxEvent

    _check_type(type)
    now = timezone.now()
    event = OutboxEvent.objects.create(type=type, account_id=account_id, data=data,
                                       occurred_at=occurred_at or now, created_at=now)
    _dispatch_after_commit()
    return event


def emit_many(type, items, *, occurred_at=None):
    """Write one event per item, items being (account id, data) or (account id, data,
    occurred at), in one INSERT … SELECT (`abmcrm.core.db.outbox`; a few hundred rows a
    statement on SQLite): a recompute changes the tiers of tens of thousands of accounts at
    once. Returns how many were written."""
    from .db.outbox import insert_events

    _check_type(type)
    now = timezone.now()
    rows = [(time_ordered_hex(), item[0], (item[2] if len(item) > 2 else None)
             or occurred_at or now, item[1]) for item in items]
    if not rows:
        return 0
    insert_events(type, rows, created_at=now)
    _dispatch_after_commit()
    return len(rows)


def _dispatch_after_commit():
    """Queue the dispatch task once the current transaction commits: once per transaction,
    however many events it writes."""
    if connection.in_atomic_block and any(
            func is _publish_dispatch for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(_publish_dispatch)


def _publish_dispatch():
    publish("abmcrm.core.tasks.outbox_dispatch")


def consumers():
    """[(name, function)] of every installed app's outbox consumers, in INSTALLED_APPS order.
    Each AppConfig may declare `outbox_consumers = [(name, dotted path)]`; the function takes
    a list of OutboxEvent, in order, and runs inside the dispatch transaction."""
    found = []
    for config in apps.get_app_configs():
        for name, path in getattr(config, "outbox_consumers", ()):
            found.append((name, import_string(path)))
    return found


def dispatch(*, batch=DISPATCH_BATCH):
    """Hand every event not dispatched yet to the consumers, oldest first, a batch per
    transaction. A batch is locked while it is handed over: a second dispatcher running at
    the same time waits, then finds it dispatched and goes on with the next. A consumer that
    raises is logged; its batch stays undispatched (the sweeper hands it over again) and
    dispatch stops there, so no later event overtakes it. Returns how many were dispatched."""
    from .models import OutboxEvent

    handlers = consumers()
    total = 0
    while True:
        with transaction.atomic():
            events = list(OutboxEvent.objects.select_for_update()
                          .filter(dispatched_at__isnull=True).order_by("id")[:batch])
            if not events:
                return total
            failed = False
            for name, consume in handlers:
                try:
                    with transaction.atomic():
                        consume(events)
                except Exception:  # noqa: BLE001 - logged; the sweeper hands the batch over again
                    logger.exception("outbox consumer %s failed on %d event(s) from %s",
                                     name, len(events), events[0].id)
                    failed = True
            if failed:
                return total
            OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(
                dispatched_at=timezone.now())
        total += len(events)


def prune(*, now=None):
    """Delete the events dispatched more than ABMCRM_OUTBOX_RETENTION_DAYS ago (what
    consumers keep of them goes with them: see each consumer). Returns how many."""
    from .models import OutboxEvent

    days = conf.ABMCRM_OUTBOX_RETENTION_DAYS
    if days is None:
        return 0
    before = (now or timezone.now()) - timedelta(days=days)
    pruned = 0
    while True:
        ids = list(OutboxEvent.objects.filter(dispatched_at__lt=before)
                   .order_by("dispatched_at").values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return pruned
        # Django deletes a consumer's rows that point at these as their foreign keys say.
        pruned += OutboxEvent.objects.filter(pk__in=ids).delete()[1].get(
            OutboxEvent._meta.label, 0)


def outbox_redrive(*, now=None):
    """The sweeper: dispatch the events whose dispatch task never ran (the broker was down
    at the commit, or a worker died) and prune the old ones. Returns {"dispatched",
    "pruned"}."""
    return {"dispatched": dispatch(), "pruned": prune(now=now)}
