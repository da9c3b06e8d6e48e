"""Writes of the funnel app: `transitions` (the state machine), `moves` (the automatic ABM
moves, set-based) and `leads`."""

from .leads import lead_bulk_upsert, lead_create, lead_update
from .moves import accounts_move
from .transitions import TransitionBatch, transitions_apply

__all__ = ["TransitionBatch", "accounts_move", "lead_bulk_upsert", "lead_create",
           "lead_update", "transitions_apply"]
