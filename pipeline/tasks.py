"""Thin Celery tasks of the pipeline app: each calls one service (imported in the body). The
services publish them by name (`abmcrm.core.queueing.publish`), never import them."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def refresh_pending_deal_touches():
    """Compute the deal touch rows a bulk load queued (`DealTouchPending`). A delivery that
    finds the queue empty (attribution or another delivery computed them) does nothing; a
    lost one is queued again by the sweeper."""
    from .services import deal_touches

    return deal_touches.deal_touches_refresh_pending()
