"""Scoring and tiering, computed in the database: ICP fit (`fit`), intent surges (`intent`),
decaying engagement (`engagement`) over the `windows` of a run, rule-based tier `placement`,
and the `recompute` that runs them chunk by chunk (`writes`, `overlap`)."""

from .engagement import decay_expression, engagement_rows, engagement_score
from .fit import active_criteria, criterion_q, fit_points_expression, fit_score
from .intent import intent_rows, intent_summary, is_surging
from .placement import active_rules, retier, retier_chunk
from .recompute import RecomputeResult, chunk_changes, recompute
from .windows import Windows
from .writes import apply_moves, write_chunk

__all__ = [
    "RecomputeResult", "Windows", "active_criteria", "active_rules", "apply_moves",
    "chunk_changes", "criterion_q", "decay_expression", "engagement_rows", "engagement_score",
    "fit_points_expression", "fit_score", "intent_rows", "intent_summary", "is_surging",
    "recompute", "retier", "retier_chunk", "write_chunk",
]
