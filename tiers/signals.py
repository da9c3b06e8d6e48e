"""Signals this app sends, for higher apps (funnel) and host projects.

All are sent inside the transaction that makes the change, so a receiver's writes commit
or roll back with it. The same changes are written to the outbox (`tiers.events`), which is
what consumers outside the transaction (webhooks, plays) read.
"""

from django.dispatch import Signal

from . import events

# An account's tier changed. kwargs: account, old_tier (Tier or None), new_tier (Tier or
# None), assignment (the TierAssignment history row), by (a user, or None for the system).
tier_changed = Signal()

# An account got its first recent meaningful engagement (it was not engaged before).
# kwargs: account, occurred_at (the time of the meaningful event that made it engaged).
account_engaged = Signal()

# The same two, for a whole batch at once (sent right after the per-account signals of the
# batch), so that a receiver with work to do per account can do it in bulk: a first recompute
# changes the tier of tens of thousands of accounts.
# tiers_changed kwargs: changes = [(account, old_tier, new_tier, assignment)], by.
tiers_changed = Signal()
# accounts_engaged kwargs: engaged = [(account, occurred_at)].
accounts_engaged = Signal()

# The same batches by id, sent last (after the four above). Loading tens of thousands of
# accounts as model instances costs more than the rest of a first recompute, so a recompute
# builds the instances only when one of the four above has a receiver; a receiver that needs
# no more than ids (the funnel's automatic moves) uses these.
# tiers_changed_ids kwargs: changes = [(account id, old tier id, new tier id, assignment id)],
# by.
tiers_changed_ids = Signal()
# accounts_engaged_ids kwargs: engaged = [(account id, occurred_at)].
accounts_engaged_ids = Signal()

# A recompute finished writing its scores and tiers (sent after its last transaction, not
# inside one). kwargs: account_ids (the ids recomputed, or None: all accounts), now (the
# time the scores were computed as of), result (the RecomputeResult). The apps above score
# what they derive from the scores here (the in-market prediction). A receiver may return a
# dict: it is added to the recompute's result (the job's `result`).
recompute_finished = Signal()


def announce_tier_changes(changes, *, by, loaded=None):
    """Send the three tier signals for [(account id, old tier id, new tier id, assignment
    id)]: the per-account and batch signals carrying instances (built only if one of them has
    a receiver, unless `loaded`, [(account, old Tier, new Tier, assignment)], is at hand),
    then the id batch. Every tier change of the app is announced here, the same way."""
    from .models import Account, Tier, TierAssignment

    # First in the outbox, so that what receivers write in turn (the funnel's moves) comes
    # after it in the stream.
    events.tier_changes_emit(changes, by=by)
    if tier_changed.has_listeners(Account) or tiers_changed.has_listeners(Account):
        if loaded is None:
            tiers = {tier.pk: tier for tier in Tier.objects.all()}
            accounts = Account.objects.in_bulk([pk for pk, *_ in changes])
            assignments = TierAssignment.objects.select_related("rule").in_bulk(
                [assignment for *_, assignment in changes])
            loaded = [(accounts[pk], tiers.get(old), tiers.get(new), assignments[assignment])
                      for pk, old, new, assignment in changes]
        for account, old, new, assignment in loaded:
            tier_changed.send(sender=Account, account=account, old_tier=old, new_tier=new,
                              assignment=assignment, by=by)
        tiers_changed.send(sender=Account, changes=loaded, by=by)
    tiers_changed_ids.send(sender=Account, changes=changes, by=by)


def announce_engaged(engaged):
    """Send the engagement signals for {account id: occurred_at}; the accounts are loaded
    only if a receiver of the signals carrying them is connected."""
    from .models import Account

    events.engaged_emit(engaged)
    if account_engaged.has_listeners(Account) or accounts_engaged.has_listeners(Account):
        pairs = [(account, engaged[account.pk])
                 for account in Account.objects.filter(pk__in=list(engaged))]
        for account, occurred_at in pairs:
            account_engaged.send(sender=Account, account=account, occurred_at=occurred_at)
        accounts_engaged.send(sender=Account, engaged=pairs)
    accounts_engaged_ids.send(sender=Account, engaged=list(engaged.items()))

# Engagement events were recorded (sent inside the transaction). kwargs: events = [(account
# id, source)] of the new events. The pipeline keeps its per-deal touch table (an event whose
# source is a campaign's code is a touch) in step with them.
engagement_recorded = Signal()
