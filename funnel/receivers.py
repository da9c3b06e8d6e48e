"""The automatic ABM moves, driven by the tiers app's signals.

They run inside the sender's transaction (the signals are sent there), so a move commits or
rolls back with the tier change or the engagement that caused it. A refused move (e.g. the
account is already further down the funnel) records nothing and never breaks the sender."""

from django.utils import timezone

from . import selectors, services
from .models import Stage


def _abm_path():
    return selectors.side_path(Stage.Side.ABM)


def on_tier_changed(sender, account, new_tier=None, by=None, **kwargs):
    """An account entering a tier enters the ABM side's first stage (`target`)."""
    path = _abm_path()
    if new_tier is None or not path:
        return
    services.account_move(account=account, to_stage=path[0].slug, occurred_at=timezone.now(),
                          only_from={None}, user=by)


def on_account_engaged(sender, account, occurred_at=None, **kwargs):
    """Its first recent meaningful engagement moves a target account to `engaged`."""
    path = _abm_path()
    if len(path) < 2:
        return
    services.account_move(account=account, to_stage=path[1].slug,
                          occurred_at=occurred_at or timezone.now(),
                          only_from={None, path[0].slug})
