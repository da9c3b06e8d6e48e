"""What accounts do and research: weekly intent signals and engagement events, recorded once
each; the accounts they touch are rescored after commit."""

import datetime
import hashlib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from abmcrm.core import i18n, ingest

from ..models import EngagementEvent, IntentSignal
from .recompute import accounts_recompute_queue


def intent_signal_bulk_upsert(*, rows):
    """Upsert weekly intent signals by (account, topic, source, week). Returns (created,
    updated, unchanged, errors); the affected accounts are rescored after commit."""
    def key(data):
        return data["account"].pk, data["topic"], data["source"], data["week"]

    unique_rows, errors = ingest.dedupe(rows, key=key, message=lambda first: {
        "non_field_errors": [i18n.deferred(gettext_noop(
            "Duplicate signal in this batch (first at %(position)s): same account, topic, "
            "source and week."), position=first)]})
    keys = [key(data) for _, data in unique_rows]
    existing = {
        (s.account_id, s.topic, s.source, s.week): s
        for s in IntentSignal.objects.filter(
            account_id__in={k[0] for k in keys}, week__in={k[3] for k in keys},
            topic__in={k[1] for k in keys},
        ).only("id", "account_id", "topic", "source", "week", "score")
    }
    to_create, to_update, unchanged = [], [], 0
    now = timezone.now()
    for _, data in unique_rows:
        account_id, topic, source, week = key(data)
        signal = existing.get((account_id, topic, source, week))
        if signal is None:
            to_create.append(IntentSignal(account_id=account_id, topic=topic, source=source,
                                          week=week, score=data["score"]))
        elif signal.score != data["score"]:
            signal.score, signal.updated_at = data["score"], now
            to_update.append(signal)
        else:
            unchanged += 1
    with transaction.atomic():
        IntentSignal.objects.bulk_create(to_create, batch_size=1000)
        IntentSignal.objects.bulk_update(to_update, ["score", "updated_at"], batch_size=1000)
        accounts_recompute_queue(account_ids=[s.account_id for s in [*to_create, *to_update]])
    return len(to_create), len(to_update), unchanged, errors


def engagement_dedupe_key(*, account_id, kind_key, occurred_at, contact_id, source,
                          external_id):
    if external_id:
        return f"x:{external_id}"
    moment = occurred_at.astimezone(datetime.UTC).isoformat()
    raw = f"{account_id}|{kind_key}|{moment}|{contact_id or ''}|{source}"
    return "h:" + hashlib.sha256(raw.encode()).hexdigest()


def engagement_event_bulk_insert(*, rows):
    """Record engagement events once each: an event seen before (same external_id, or, without
    one, same account, kind, time, contact and source) is reported, not counted again."""
    errors, seen, unique_rows = [], {}, []
    for pos, data in rows:
        key = engagement_dedupe_key(
            account_id=data["account"].pk, kind_key=data["kind"].key,
            occurred_at=data["occurred_at"], contact_id=data["contact"] and data["contact"].pk,
            source=data.get("source") or "", external_id=data.get("external_id"),
        )
        if key in seen:
            errors.append((pos, {"external_id" if data.get("external_id") else
                                 "non_field_errors": [
                                     i18n.deferred(gettext_noop(
                                         "Duplicate event in this batch (first at "
                                         "%(position)s)."), position=seen[key])]}))
            continue
        seen[key] = pos
        unique_rows.append((pos, key, data))
    known = set(EngagementEvent.objects.filter(dedupe_key__in=list(seen))
                .values_list("dedupe_key", flat=True))
    to_create = []
    for pos, key, data in unique_rows:
        if key in known:
            field = "external_id" if data.get("external_id") else "non_field_errors"
            errors.append((pos, {field: [
                i18n.deferred(gettext_noop(
                    "This event was already recorded; it is not counted twice."))]}))

            continue
        to_create.append(EngagementEvent(
            account_id=data["account"].pk, contact=data["contact"], kind=data["kind"],
            occurred_at=data["occurred_at"], source=data.get("source") or "",
            external_id=data.get("external_id"), dedupe_key=key,
        ))
    with transaction.atomic():
        EngagementEvent.objects.bulk_create(to_create, batch_size=1000)
        accounts_recompute_queue(account_ids=[e.account_id for e in to_create])
    return len(to_create), 0, 0, errors
