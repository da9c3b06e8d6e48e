"""The automatic ABM moves, driven by the tiers app's batch signals.

They run inside the sender's transaction (the signals are sent there), so a move commits or
rolls back with the tier change or the engagement that caused it. A refused move (e.g. the
account is already further down the funnel) records nothing and never breaks the sender.
The id-only batch signals (`tiers_changed_ids`, `accounts_engaged_ids`) are used: a recompute
that tiers tens of thousands of accounts moves them in bulk without loading them."""

from django.utils import timezone

from . import selectors, services
from .models import Stage


def _abm_path():
    return selectors.side_path(Stage.Side.ABM)


def on_tiers_changed(sender, changes, by=None, **kwargs):
    """Accounts entering a tier enter the ABM side's first stage (`target`)."""
    path = _abm_path()
    now = timezone.now()
    moves = [(account_id, now) for account_id, _old, new_tier_id, _assignment in changes
             if new_tier_id is not None]
    if path and moves:
        services.accounts_move(moves=moves, to_stage=path[0].slug, only_from={None}, user=by)


def on_accounts_engaged(sender, engaged, **kwargs):
    """Their first recent meaningful engagement moves target accounts to `engaged`."""
    path = _abm_path()
    moves = [(account_id, occurred_at or timezone.now()) for account_id, occurred_at in engaged]
    if len(path) >= 2 and moves:
        services.accounts_move(moves=moves, to_stage=path[1].slug,
                               only_from={None, path[0].slug})
