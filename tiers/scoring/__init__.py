"""Scoring and tiering, computed in the database: ICP fit (`fit`), intent surges (`intent`),
decaying engagement (`engagement`, weighted by persona and tier) over the `windows` of a run,
the buying `committee` (contact fit, coverage, missing roles), rule-based tier `placement`,
and the `recompute` that runs them chunk by chunk (`writes`, `overlap`)."""

from .committee import (
    active_personas,
    committee_contacts,
    committee_summary,
    persona_fit_expression,
    refresh_contact_fits,
    required_committees,
)
from .engagement import (
    Multipliers,
    decay_expression,
    engagement_rows,
    engagement_score,
)
from .fit import active_criteria, criterion_q, fit_points_expression, fit_score
from .intent import intent_rows, intent_summary, is_surging
from .placement import active_rules, retier, retier_chunk
from .recompute import Inputs, RecomputeResult, chunk_changes, recompute, refresh_committees
from .windows import Windows
from .writes import apply_moves, write_chunk

__all__ = [
    "Inputs", "Multipliers", "RecomputeResult", "Windows", "active_criteria",
    "active_personas", "active_rules", "apply_moves", "chunk_changes", "committee_contacts",
    "committee_summary", "criterion_q", "decay_expression", "engagement_rows",
    "engagement_score", "persona_fit_expression", "refresh_committees",
    "refresh_contact_fits", "required_committees",
    "fit_points_expression", "fit_score", "intent_rows", "intent_summary", "is_surging",
    "recompute", "retier", "retier_chunk", "write_chunk",
]
