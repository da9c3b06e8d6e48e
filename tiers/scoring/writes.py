"""The writes of a recompute: a chunk's scores, and tier moves with their history rows and
signals, each in one transaction (the SQL itself is in `tiers.sql`)."""

from django.db import transaction

from .. import signals, sql
from ..models import Account, TierAssignment


def write_chunk(account_q, changed, newly_engaged, *, windows):
    """Write what `recompute.chunk_changes` found, in one transaction, and announce the
    accounts newly engaged. Returns (accounts changed, accounts newly engaged)."""
    with transaction.atomic():
        won = sql.write_scores(changed, scored_at=windows.now, engaging=newly_engaged)
        newly_engaged = {pk: at for pk, at in newly_engaged.items() if pk in won}
        # Never-scored accounts get a time too; rewriting every row each run would double
        # the cost of a recompute for a timestamp nobody needs (the job records the run).
        Account.objects.filter(account_q, scored_at__isnull=True).update(scored_at=windows.now)
        if newly_engaged:
            signals.announce_engaged(newly_engaged)
    return len(changed), len(newly_engaged)


def apply_moves(moves, *, by=None, moved=None):
    """Write tier moves [(pk, old tier id, old rule id, new tier id, rule, reason)] with a
    compare-and-set on (tier, rule, unlocked): an account moved or locked meanwhile is left
    alone. Each tier change gets a history row and is announced. Set-based: a first
    recompute moves tens of thousands of accounts. `moved`: a set that collects the ids of
    the accounts whose tier changed."""
    if not moves:
        return 0
    with transaction.atomic():
        won = sql.move_tiers([(pk, old_tier, old_rule, new_tier, rule.pk if rule else None)
                              for pk, old_tier, old_rule, new_tier, rule, _ in moves])
        tier_moves = [move for move in moves if move[0] in won and move[1] != move[3]]
        if not tier_moves:
            return 0
        if moved is not None:
            moved.update(move[0] for move in tier_moves)
        history = sql.insert_tier_history(
            [(pk, old_tier, new_tier, rule.pk if rule else None, reason)
             for pk, old_tier, _, new_tier, rule, reason in tier_moves],
            cause=TierAssignment.Cause.RULES.value, by=by)
        signals.announce_tier_changes([(pk, old_tier, new_tier, history[pk])
                                       for pk, old_tier, _, new_tier, _, _ in tier_moves], by=by)
    return len(tier_moves)
