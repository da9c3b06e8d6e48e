"""Thin Celery tasks of the pipeline app: each calls one service (imported in the body). The
services publish them by name (`abmcrm.core.queueing.publish`), never import them."""

from celery import shared_task
from django.db import IntegrityError, OperationalError


# IntegrityError: a deal deleted while its rows were computed fails the chunk's foreign key
# check at commit; the chunk is rolled back and the retry finds the deal gone.
@shared_task(acks_late=True, autoretry_for=(OperationalError, IntegrityError),
             retry_backoff=True, retry_jitter=True, max_retries=5)
def refresh_pending_deal_touches():
    """Compute the deal touch rows a bulk load queued (`DealTouchPending`). A delivery that
    finds the queue empty (attribution or another delivery computed them), or another task
    working it, does nothing; a lost one is queued again by the sweeper."""
    from .services import deal_touches

    return deal_touches.deal_touches_refresh_pending(exclusive=True)
