"""The state rows' first-reached columns rebuilt from the history."""

from django.db import transaction

from .. import selectors
from ..sql import state as state_sql


@transaction.atomic
def funnel_state_rebuild():
    """Set every account's and lead's `reached_<slot>_at` columns from its transitions (the
    transition service keeps them; this repairs rows written around it, e.g. history loaded
    by SQL). Idempotent: rows already right are not written. Returns {"accounts": n,
    "leads": n}, the rows changed."""
    return state_sql.rebuild_all(selectors.stages())
