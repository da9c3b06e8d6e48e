"""The funnel's outbox events (docs/ref/events.md): `funnel.transition`, one per recorded
transition, written in the transaction that records it."""

from abmcrm.core import outbox


def _slug(stage):
    return stage.slug if stage is not None else None


def transitions_emit(rows):
    """rows = [(account id or None, lead id or None, from Stage or None, to Stage, occurred_at,
    channel, amount or None)]; a lead's transition names its account when it has one."""
    outbox.emit_many(outbox.FUNNEL_TRANSITION, [
        (account_id, {"account_id": account_id, "lead_id": lead_id,
                      "from_stage": _slug(from_stage), "to_stage": _slug(to_stage),
                      "occurred_at": occurred_at.isoformat(), "channel": channel or "",
                      "amount": None if amount is None else str(amount)}, occurred_at)
        for account_id, lead_id, from_stage, to_stage, occurred_at, channel, amount in rows])
