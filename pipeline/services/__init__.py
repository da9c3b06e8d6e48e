"""Writes of the pipeline app: `moves` (the deals' state machine), `opportunities` (create,
update, delete, bulk upsert) and `follow` (the account's funnel following its deals)."""

from .follow import accounts_follow_deals
from .moves import move_errors, opportunity_move
from .opportunities import (
    PLAIN_FIELDS,
    WriteResult,
    opportunity_bulk_upsert,
    opportunity_check,
    opportunity_create,
    opportunity_delete,
    opportunity_update,
)

__all__ = ["PLAIN_FIELDS", "WriteResult", "accounts_follow_deals", "move_errors",
           "opportunity_bulk_upsert", "opportunity_check", "opportunity_create",
           "opportunity_delete", "opportunity_move", "opportunity_update"]
