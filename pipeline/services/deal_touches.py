"""The per-deal touch table (`DealTouch`) kept equal to what its touches say.

Every write of a touch, a W-shaped milestone or a deal calls `deal_touches_refresh` with the
accounts it wrote, inside its transaction: the rows of those accounts' deals are computed
again from what is stored (`sql.deal_touches`), so the table is right whatever the write
was (an event, an order rejected, a deal moved to another account). Writes in the lower apps
(tiers, programs, funnel) reach it through their signals (`receivers`).

A bulk load (`defer=True`: the bulk API, CSV imports) queues the rows of its new deals, and
of the deals its new deals with a campaign reach, for a task after its commit
(`deal_touches_refresh_pending`, `DealTouchPending`): a CRM sync's request then costs about
its own rows. Attribution computes the queued deals of its period before it reads, so its
answer never depends on whether the task has run.

`deal_touches_rebuild` (`manage.py rebuild_deal_touches`) computes the whole table: once
after the upgrade that adds it, and after a change of the lookback, the half-life or the
funnel's handoff stage. Until then (no `DealTouchState` row, or one for other settings)
attribution computes from the touches per request, as it did before the table existed, and
the writes skip the refresh."""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from abmcrm.core.queueing import publish, publish_on_commit
from funnel import selectors as funnel_selectors
from funnel.models import Stage

from .. import conf
from ..models import DealTouch, DealTouchPending, DealTouchState, Opportunity
from ..sql import deal_touches as deal_touches_sql

# Accounts a refresh statement covers (the ids are inlined).
CHUNK = 1000
# Deals a refresh of some deals covers. Measured on a bulk request of 5,000 new deals: one
# statement for all of them was slower than five (its sorts and hashes passed work_mem and
# spilled to disk, and the planner took 180 ms over its inlined lists against 5 × 33 ms).
DEAL_CHUNK = 1000
# Queued deals a transaction of `deal_touches_refresh_pending` computes.
PENDING_CHUNK = 5000
# The task a load queues after its commit (named: the tasks import the services).
REFRESH_PENDING_TASK = "pipeline.tasks.refresh_pending_deal_touches"
# How long a rebuild waits for the transactions already running when it starts.
REBUILD_WAIT_SECONDS = 600

logger = logging.getLogger(__name__)


def middle_stage_ids():
    """The stages whose reaching is a W-shaped milestone: the ABM handoff (engaged)."""
    return sorted(s.pk for s in funnel_selectors.side_path(Stage.Side.ABM) if s.is_handoff)


def current_settings():
    """(lookback days, half-life days, middle stage ids as text): what the rows depend on
    besides the touches."""
    middle = middle_stage_ids()
    return (int(conf.settings.ABMCRM_ATTRIBUTION_LOOKBACK_DAYS),
            float(conf.settings.ABMCRM_ATTRIBUTION_HALF_LIFE_DAYS),
            ",".join(str(pk) for pk in middle))


def _matches(state, settings):
    return (state.lookback_days, float(state.half_life_days), state.middle_stage_ids) == settings


def maintained():
    """Whether the writes keep the table: it was built (or is being built) for the current
    settings. The receivers ask first, so that an install that never built it pays one
    query a write."""
    state = DealTouchState.objects.filter(pk=1).first()
    return state is not None and _matches(state, current_settings())


def readable():
    """Whether attribution may read the table: built, for the current settings."""
    state = DealTouchState.objects.filter(pk=1).first()
    return (state is not None and state.status == DealTouchState.Status.BUILT
            and _matches(state, current_settings()))


def _refresh(account_ids, settings, deals=()):
    lookback, half_life, middle = settings
    ids = sorted(account_ids)
    deals = sorted((pk, account, opened_at) for pk, account, opened_at in deals
                   if account not in account_ids)
    if connection.vendor == "postgresql":
        # One refresh at a time: two writes of an account's touches at once would each
        # recompute without the other's touch. The statements after the lock see what
        # committed before it was granted (`sql.deal_touches.lock_refreshes` says why one
        # lock for all accounts).
        deal_touches_sql.lock_refreshes()
    common = {"lookback_days": lookback, "half_life_days": half_life,
              "middle_stage_ids": [int(pk) for pk in middle.split(",") if pk]}
    for n in range(0, len(ids), CHUNK):
        deal_touches_sql.refresh(account_ids=ids[n:n + CHUNK], **common)
    for n in range(0, len(deals), DEAL_CHUNK):
        chunk = deals[n:n + DEAL_CHUNK]
        # Only the touches these deals' windows can hold are read: a bulk load's new deals
        # are recent, their accounts' touch history is years long. Their openings come with
        # them (as written or as read), not read back.
        opened = [opened_at for _, _, opened_at in chunk]
        deal_touches_sql.refresh(deal_ids=[pk for pk, _, _ in chunk],
                                 account_ids=sorted({account for _, account, _ in chunk}),
                                 opened_between=(min(opened), max(opened)), **common)


def deal_touches_refresh(*, account_ids=(), deals=(), new_touches=(), defer=False):
    """Recompute the rows of the deals of `account_ids` (ids; None entries ignored), of
    `deals` ([(deal id, account id, opened at)]: deals whose own window changed but which
    are no touch of another, e.g. new ones without a campaign; their opening as stored),
    and of the deals `new_touches` reach
    ([(deal id, account id, opened at)]: new deals with a campaign, each a touch of its own
    account's deals opened within the lookback after it), in the caller's transaction.
    `defer`: the deals of `deals` and those `new_touches` reach are queued instead, and
    computed by a task after the commit (the accounts' deals still are computed now).
    Nothing to do until the table is first built, or when it was built for other settings
    (it must be rebuilt then)."""
    ids = {int(pk) for pk in account_ids if pk is not None}
    deals = [(int(pk), int(account), opened_at) for pk, account, opened_at in deals]
    if not ids and not deals and not new_touches:
        return
    state = DealTouchState.objects.filter(pk=1).first()
    if state is None:
        return
    settings = current_settings()
    if not _matches(state, settings):
        return
    with transaction.atomic():
        if new_touches:
            if connection.vendor == "postgresql":
                # Locked before the deals they reach are read (the refresh locks again, a
                # no-op for the holder): a deal another write commits meanwhile is then
                # either read here or refreshed after this one, never neither.
                deal_touches_sql.lock_refreshes()
            deals += _reached_by(new_touches, settings[0], skip=ids)
        if not defer:
            _refresh(ids, settings, deals)
            return
        if ids:
            _refresh(ids, settings)
        queued = sorted({pk for pk, account, _ in deals if account not in ids})
        if queued:
            deal_touches_sql.mark_pending(queued, now=timezone.now())
            # After the commit, never failing it: a broker that cannot be reached leaves
            # them queued for the sweeper, and attribution computes them meanwhile. (A
            # second task of one transaction finds the queue empty.)
            publish_on_commit(REFRESH_PENDING_TASK)


def deal_touches_refresh_pending(*, chunk=PENDING_CHUNK, opened_between=None,
                                 exclusive=False):
    """Compute the rows of the queued deals (`DealTouchPending`), `chunk` a transaction,
    until none is left; returns how many were taken off the queue. `opened_between`
    ([start, end) datetimes): only the queued deals opened then (attribution's period).
    `exclusive` (the task): do nothing if another task is already working the queue, so
    that the sweeper's deliveries during a long backlog do not each hold a worker waiting
    for the refresh lock. Run by the task a bulk load queues, by attribution before it reads
    a period with queued deals, by the sweeper and at the end of a rebuild. Idempotent, and
    safe alongside every other write: it takes the refresh lock before it reads the queue,
    so each deal is computed from what committed before (a second computation, by an
    account's refresh or a later queueing, is harmless). While the table is not maintained
    (never built, or built for other settings) the queue is left as it is: the rebuild
    computes every deal, then empties it."""
    if exclusive and connection.vendor == "postgresql":
        if not deal_touches_sql.try_lock_queue():
            return 0
        try:
            return deal_touches_refresh_pending(chunk=chunk, opened_between=opened_between)
        finally:
            deal_touches_sql.unlock_queue()
    done = 0
    while True:
        with transaction.atomic():
            taken = _refresh_pending(chunk, opened_between)
        if not taken:
            return done
        done += taken


def _refresh_pending(chunk, opened_between):
    if connection.vendor == "postgresql":
        deal_touches_sql.lock_refreshes()
    state = DealTouchState.objects.filter(pk=1).first()
    settings = current_settings()
    if state is None or not _matches(state, settings):
        return 0
    rows = deal_touches_sql.pending(chunk, opened_between)
    if not rows:
        return 0
    deals = [(pk, account, opened_at) for pk, account, opened_at in rows
             if account is not None]  # (None: the deal was deleted meanwhile)
    if deals:
        _refresh(set(), settings, deals)
    DealTouchPending.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    return len(rows)


def deal_touches_pending_redrive():
    """The sweeper: queue the task again for deals queued a while ago and still waiting (the
    broker was down at the commit, or the worker died), while the table is maintained."""
    stale = timezone.now() - timedelta(seconds=conf.settings.ABMCRM_DEAL_TOUCHES_SWEEP_AFTER)
    waiting = (DealTouchPending.objects.filter(queued_at__lt=stale).exists()
               and maintained())
    if waiting:
        publish(REFRESH_PENDING_TASK)
    return {"deal_touches": int(waiting)}


def _reached_by(new_touches, lookback_days, *, skip):
    """[(deal id, account id, opened at)]: the new deals of `new_touches` and their accounts' deals
    whose window holds one of them (opened at or after it, within the lookback). A bulk load
    of deals lands on thousands of accounts: redoing only these deals, not every deal of
    those accounts, keeps the load's cost near its own rows. The bounds are a day wider than
    the window (which compares days as doubles): a deal redone needlessly is still right."""
    touches = {}
    for pk, account, at in new_touches:
        if account is not None and int(account) not in skip:
            touches.setdefault(int(account), []).append((int(pk), at))
    if not touches:
        return []
    slack = timedelta(days=int(lookback_days) + 1)
    reached = {(pk, account, at) for account, rows in touches.items() for pk, at in rows}
    new = {pk for pk, _, _ in reached}
    others = (Opportunity.objects.filter(account_id__in=list(touches))
              .values_list("pk", "account_id", "opened_at"))
    for pk, account, opened_at in others.iterator(chunk_size=5000):
        if pk in new:
            continue
        if any(at - timedelta(days=1) <= opened_at <= at + slack
               for _, at in touches[account]):
            reached.add((pk, account, opened_at))
    return sorted(reached)


def deal_touches_rebuild(*, chunk=5000, progress=None):
    """Compute every row again, `chunk` accounts (with deals) a transaction; `progress(done,
    total)` after each. Idempotent. The writes maintain the accounts already done while it
    runs (the state says "building"); attribution reads the table once it is done.
    Returns the number of rows."""
    settings = current_settings()
    lookback, half_life, middle = settings
    DealTouchState.objects.update_or_create(pk=1, defaults={
        "status": DealTouchState.Status.BUILDING, "lookback_days": lookback,
        "half_life_days": half_life, "middle_stage_ids": middle, "built_at": None})
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # A write that read the state before it said "building" skipped its refresh: the
        # chunks below must read it, so it must have committed first. (Inside a caller's
        # transaction the state is not visible to others until it commits anyway.)
        if not deal_touches_sql.wait_for_older_transactions(timeout=REBUILD_WAIT_SECONDS):
            logger.warning("rebuild_deal_touches: transactions older than the rebuild are "
                           "still open after %s s; writes they make are refreshed by the "
                           "next rebuild", REBUILD_WAIT_SECONDS)
    accounts = list(Opportunity.objects.order_by("account_id").values_list(
        "account_id", flat=True).distinct())
    for n in range(0, len(accounts), chunk):
        with transaction.atomic():
            _refresh(accounts[n:n + chunk], settings)
        if progress:
            progress(min(n + chunk, len(accounts)), len(accounts))
    DealTouchState.objects.filter(pk=1).update(status=DealTouchState.Status.BUILT,
                                               built_at=timezone.now())
    # Deals a bulk load queued while the table was not maintained (their task left them):
    # computed above already, taken off the queue here.
    deal_touches_refresh_pending(chunk=chunk)
    return DealTouch.objects.count()
