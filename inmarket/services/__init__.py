"""The inmarket app's services: snapshots, scoring (probability, buying stage, reasons, 6QA)
and training (versions, activation, the job)."""

from .scoring import accounts_score, marks_clear, qualify, rule_probability
from .snapshots import snapshots_rebuild, snapshots_write, week_end, week_of
from .training import (
    activation_decision,
    model_activate,
    model_train,
    split_weeks,
    training_run,
    training_start,
)

__all__ = [
    "accounts_score", "activation_decision", "marks_clear", "model_activate", "model_train",
    "qualify",
    "rule_probability", "snapshots_rebuild", "snapshots_write", "split_weeks",
    "training_run", "training_start", "week_end", "week_of",
]
