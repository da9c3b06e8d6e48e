"""Thin Celery tasks: take ids, call one function (imported in the body), own the retries.
`consumer` and `alerts` publish these tasks by name (`abmcrm.core.queueing.publish`), never
import them: the dependency runs one way, tasks → services."""

import smtplib

from celery import shared_task


@shared_task(ignore_result=True)
def handle_events():
    """Fire the plays and write the alerts of the events received and not handled yet
    (queued after each outbox batch this app received; the sweeper queues it too)."""
    from .consumer import events_handle

    return events_handle()


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=10,
             retry_backoff_max=600, retry_jitter=True, max_retries=8, ignore_result=True)
def send_alert(alert_id):
    """E-mail (and post to Slack) one immediate alert, once; retried while the mail server
    is unreachable."""
    from .alerts import alert_send

    return alert_send(alert_id=alert_id)


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=10,
             retry_backoff_max=600, retry_jitter=True, max_retries=8, ignore_result=True)
def send_digest(user_id):
    """E-mail one user their digest of the alerts waiting (once)."""
    from .alerts import digest_send

    return digest_send(user_id=user_id)


@shared_task(ignore_result=True)
def send_digests():
    """The beat job: a digest task per user with alerts waiting."""
    from .alerts import digests_queue

    return digests_queue()
