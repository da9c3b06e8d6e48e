"""Thin Celery tasks: take ids, call one service (imported in the body), own the retries.
The services publish these tasks by name (`abmcrm.core.queueing.publish`), never import
them: the dependency runs one way, tasks → services."""

import smtplib

from celery import shared_task

from .conf import settings as conf
from .fulfillment.providers import TransientError


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             max_retries=None)
def send_fulfillment(self, fulfillment_id, reconcile=False):
    """Send one order through its provider. A second delivery, a retry or a run after a
    crash is harmless: the service re-reads the state and the idempotency key guards the
    provider. Transient errors retry with exponential backoff and jitter, then fail the
    order with the last error."""
    from .fulfillment import dispatch, sending

    try:
        return sending.fulfillment_process(fulfillment_id=fulfillment_id, reconcile=reconcile)
    except TransientError as exc:
        if self.request.retries >= conf.ABMCRM_FULFILLMENT_MAX_RETRIES:
            return sending.fulfillment_give_up(fulfillment_id=fulfillment_id, error=exc.message)
        delay = dispatch.retry_delay(self.request.retries)
        dispatch.fulfillment_retry_later(fulfillment_id=fulfillment_id, delay=delay)
        raise self.retry(exc=exc, countdown=delay) from exc


@shared_task(ignore_result=True)
def redrive_fulfillment():
    """The fulfillment sweeper alone. `abmcrm.core.tasks.redrive` runs it with every other
    sweeper; this task stays for beat schedules that still name it."""
    from .fulfillment import dispatch

    return dispatch.fulfillment_redrive()


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=10,
             retry_backoff_max=600, retry_jitter=True, max_retries=8, ignore_result=True)
def notify_order_status(event_id):
    """E-mail the requesting rep about one order status change (once; retried while the
    mail server is unreachable)."""
    from . import notifications

    notifications.order_status_notify(event_id=event_id, raise_errors=True)
