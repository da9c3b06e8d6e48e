"""Writes of the funnel app: `transitions` (the state machine), `moves` (the automatic ABM
moves, set-based), `leads` and `state` (the first-reached columns rebuilt from history)."""

from .leads import lead_bulk_upsert, lead_create, lead_update
from .moves import accounts_move
from .state import funnel_state_rebuild
from .transitions import TransitionBatch, transitions_apply

__all__ = ["TransitionBatch", "accounts_move", "funnel_state_rebuild", "lead_bulk_upsert",
           "lead_create", "lead_update", "transitions_apply"]
