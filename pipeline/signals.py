"""Signals of the pipeline app, for host projects (e.g. an alert to the account owner when a
deal is won). Sent inside the writing transaction, after the compare-and-set succeeded."""

from django.dispatch import Signal

# sender=Opportunity, changes=[(opportunity id, from stage id or None, to stage id, at)],
# by=the user (or None for a CRM load): the stage changes just appended, including each new
# deal's first stage.
opportunities_moved = Signal()
