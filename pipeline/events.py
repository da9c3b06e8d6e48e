"""The pipeline's outbox events (docs/ref/events.md): `opportunity.created` and
`opportunity.stage_changed`, written in the transaction of the change."""

from abmcrm.core import outbox


def _deal(deal):
    return {"opportunity_id": deal.pk, "account_id": deal.account_id, "name": deal.name,
            "external_id": deal.external_id, "status": deal.status,
            "amount": None if deal.amount is None else str(deal.amount),
            "currency": deal.currency}


def opportunities_created_emit(deals):
    """`opportunity.created` for new deals (their stage is their first)."""
    outbox.emit_many(outbox.OPPORTUNITY_CREATED, [
        (deal.account_id, {**_deal(deal), "stage": deal.stage.slug}, deal.opened_at)
        for deal in deals])


def stage_changes_emit(changes):
    """`opportunity.stage_changed` for [(deal, from stage, to stage, at)]."""
    outbox.emit_many(outbox.OPPORTUNITY_STAGE_CHANGED, [
        (deal.account_id, {**_deal(deal), "from_stage": old.slug if old else None,
                           "to_stage": new.slug, "at": at.isoformat()}, at)
        for deal, old, new, at in changes])
