"""Signals this app sends, for higher apps (funnel) and host projects."""

from django.dispatch import Signal

# An order changed status (sent inside the transaction). kwargs: order, from_status,
# to_status, by (a user or None for the system), event (the OrderEvent row).
order_status_changed = Signal()

# Orders were placed (sent inside the transaction, before any auto-approval).
# kwargs: orders (the new ProgramOrder rows, status requested), by (the requesting user).
order_placed = Signal()
