"""The tiers app's outbox events (docs/ref/events.md), written in the transaction of the
change: tier moves (recomputes, rules, overrides), first engagements, newly surging topics."""

from abmcrm.core import outbox


def _tier(tiers, pk):
    tier = tiers.get(pk)
    return None if tier is None else {"id": tier.pk, "number": tier.number, "name": tier.name}


def tier_changes_emit(changes, *, by):
    """`account.tier_changed` for [(account id, old tier id, new tier id, assignment id)]."""
    from .models import Tier

    tiers = {tier.pk: tier for tier in Tier.objects.all()}
    by_id = by.pk if by else None
    outbox.emit_many(outbox.ACCOUNT_TIER_CHANGED, [
        (pk, {"account_id": pk, "old_tier": _tier(tiers, old), "new_tier": _tier(tiers, new),
              "assignment_id": assignment, "by": by_id})
        for pk, old, new, assignment in changes])


def engaged_emit(engaged):
    """`account.engaged` for {account id: time of the meaningful engagement}."""
    outbox.emit_many(outbox.ACCOUNT_ENGAGED, [
        (pk, {"account_id": pk, "engaged_at": at.isoformat() if at else None}, at)
        for pk, at in sorted(engaged.items())])


def surging_emit(surging):
    """`account.surging` for {account id: (topics that started surging, all surging topics)}."""
    outbox.emit_many(outbox.ACCOUNT_SURGING, [
        (pk, {"account_id": pk, "topics": list(new), "surging_topics": list(every)})
        for pk, (new, every) in sorted(surging.items())])
