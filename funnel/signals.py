"""Signals this app sends, for higher apps (the pipeline's per-deal touch table) and host
projects. Sent inside the transaction that writes the change, so a receiver's writes commit
or roll back with it."""

from django.dispatch import Signal

# Transitions were recorded. kwargs: transitions = [(account id, to stage id, campaign id or
# None)], the account being the transition's own or its lead's (None for a lead without one).
transitions_recorded = Signal()

# Leads were created or changed. kwargs: account_ids, the accounts the leads belonged to
# before and after (a lead's creation is a W-shaped milestone, and a touch of its campaign).
leads_changed = Signal()
