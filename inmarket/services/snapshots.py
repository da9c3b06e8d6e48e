"""Writing snapshots: the recompute's (the current week, as of the recompute) and the
rebuild of past weeks from the raw rows (`manage.py rebuild_snapshots`)."""

from datetime import datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from tiers.conf import settings as tiers_settings
from tiers.models import Account

from ..sql import snapshots as sql


def week_of(moment):
    """The Monday of the ISO week `moment` (a datetime) falls in, in the current time zone."""
    day = timezone.localdate(moment)
    return day - timedelta(days=day.weekday())


def week_end(week):
    """The last instant of the week starting on Monday `week`."""
    start = timezone.make_aware(datetime.combine(week, time.min))
    return start + timedelta(days=7) - timedelta(microseconds=1)


def _chunks(account_ids):
    """Yield {"lo", "hi"} ranges of all accounts, or {"ids"} lists of the given ones (short
    on SQLite, whose statements bind few parameters)."""
    size = tiers_settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    if account_ids is None:
        last = 0
        while True:
            ids = list(Account.objects.filter(pk__gt=last).order_by("pk")
                       .values_list("pk", flat=True)[:size])
            if not ids:
                return
            yield {"lo": ids[0], "hi": ids[-1]}
            last = ids[-1]
    else:
        ids = sorted({int(pk) for pk in account_ids})
        if connection.vendor != "postgresql":
            size = 150
        for start in range(0, len(ids), size):
            yield {"ids": ids[start:start + size]}


def snapshots_write(*, now, account_ids=None):
    """Write the current week's snapshot of the accounts (all: None) as of `now`, replacing
    the week's earlier one. Returns the rows written."""
    week, written = week_of(now), 0
    for chunk in _chunks(account_ids):
        with transaction.atomic():
            written += sql.write(week=week, as_of=now, **chunk)
    return written


def snapshots_rebuild(*, weeks, now=None, progress=None):
    """Rebuild the snapshots of the `weeks` weeks before the current one from the raw rows:
    a snapshot the recompute wrote is recomputed as of its own time (so the rebuild gives
    the same row), and every account without one that week gets one as of the week's end.
    Idempotent. Returns {"weeks", "rows"}."""
    now = now or timezone.now()
    current = week_of(now)
    rows = 0
    for step in range(weeks, 0, -1):
        week = current - timedelta(weeks=step)
        with transaction.atomic():
            for as_of, ids in sorted(sql.as_of_groups(week).items()):
                for chunk in _chunks(ids):
                    rows += sql.write(week=week, as_of=as_of, **chunk)
            as_of = min(week_end(week), now)
            for chunk in _chunks(None):
                rows += sql.write(week=week, as_of=as_of, only_missing=True, **chunk)
        if progress:
            progress(weeks - step + 1, weeks)
    return {"weeks": weeks, "rows": rows}
