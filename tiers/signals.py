"""Signals this app sends, for higher apps (funnel) and host projects.

All are sent inside the transaction that makes the change, so a receiver's writes commit
or roll back with it.
"""

from django.dispatch import Signal

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
