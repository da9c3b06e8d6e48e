"""After each recompute: the accounts' snapshot of the week, then their in-market scores
(connected in `apps.InMarketConfig.ready`)."""

from . import services


def on_recompute_finished(sender, account_ids=None, now=None, **kwargs):
    written = services.snapshots_write(now=now, account_ids=account_ids)
    scored = services.accounts_score(now=now, account_ids=account_ids)
    return {"in_market": {"snapshots": written, **scored}}
