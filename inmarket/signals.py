"""Signals this app sends, for higher apps (the outbox, alerts) and host projects. Both are
sent inside the transaction that writes the change, so a receiver's writes commit or roll
back with it.
"""

from django.dispatch import Signal

# Accounts became 6QA (became=True) or stopped being 6QA (became=False). kwargs:
# account_ids (a list of ids), became (bool). Sender: tiers.models.Account.
account_6qa = Signal()

# Accounts' buying stage changed. kwargs: changes = [(account id, old stage or "", new
# stage)]. Sender: tiers.models.Account.
buying_stage_changed = Signal()
