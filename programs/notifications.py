"""E-mails to the rep who requested an order when it is approved, rejected, cancelled,
fulfilled or failed. `order_status_notify` is called after the transition commits, whatever
made it (a marketer, auto-approval, the fulfilment of another app), so a rolled-back change
never mails anyone and a mail server that is down never undoes a change."""

import logging

from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from .conf import settings as conf
from .models import OrderEvent, ProgramOrder

logger = logging.getLogger(__name__)
Status = ProgramOrder.Status

SUBJECTS = {
    Status.APPROVED: "Approved: {item} for {account}",
    Status.REJECTED: "Rejected: {item} for {account}",
    Status.CANCELLED: "Cancelled: {item} for {account}",
    Status.FULFILLED: "Done: {item} for {account} was fulfilled",
    Status.FAILED: "Failed: {item} for {account} could not be fulfilled",
}
LINES = {
    Status.APPROVED: "Your order #{id} ({item}, {cost} {currency}) for {account} was approved"
                     "{by}. It is due by {due}.",
    Status.REJECTED: "Your order #{id} ({item}) for {account} was rejected{by}.",
    Status.CANCELLED: "Your order #{id} ({item}) for {account} was cancelled{by}.",
    Status.FULFILLED: "Your order #{id} ({item}) for {account} was fulfilled.",
    Status.FAILED: "Your order #{id} ({item}) for {account} could not be fulfilled{by}. "
                   "Marketing may retry it.",
}


def order_status_message(event):
    """(subject, body) of the e-mail for one status change."""
    order = event.order
    values = {
        "id": order.pk, "item": order.item.name, "account": order.account.name,
        "cost": order.cost, "currency": order.currency,
        "by": f" by {event.by.get_full_name() or event.by.get_username()}" if event.by else "",
        "due": order.due_at.date().isoformat() if order.due_at else "—",
    }
    subject = SUBJECTS[event.to_status].format(**values)
    lines = [LINES[event.to_status].format(**values)]
    if event.note:
        lines.append(f"Note: {event.note}")
    if conf.SITE_URL:
        url = reverse("account-programs", args=[order.account_id])
        lines.append(f"{conf.SITE_URL.rstrip('/')}{url}")
    return subject, "\n\n".join(lines) + "\n"


def order_status_notify(*, event_id, raise_errors=False):
    """Mail the requesting rep about one status change, once: the event is marked notified
    by a compare-and-set first, so a second delivery of the task sends nothing. A mail
    failure un-marks it (for the task's retry) and, unless `raise_errors`, is only logged:
    the change stands either way."""
    event = (OrderEvent.objects.select_related("order__item", "order__account",
                                               "order__requested_by", "by")
             .filter(pk=event_id).first())
    if event is None or event.to_status not in SUBJECTS:
        return False
    recipient = event.order.requested_by
    if not recipient.email:
        return False
    if not OrderEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()):
        return False
    subject, body = order_status_message(event)
    try:
        send_mail(subject, body, conf.ORDER_EMAIL_FROM, [recipient.email])
    except Exception:
        OrderEvent.objects.filter(pk=event.pk).update(notified_at=None)
        logger.exception("Could not e-mail %s about order #%s", recipient.email,
                         event.order_id)
        if raise_errors:
            raise
        return False
    return True


def order_status_notify_later(*, event_id):
    """After commit: hand the mail to the worker (the request does not wait for SMTP); if the
    broker cannot be reached, send it from here rather than lose it."""
    from .tasks import notify_order_status

    try:
        notify_order_status.delay(event_id)
    except Exception:
        logger.warning("Broker unreachable: e-mailing about event %s inline", event_id)
        order_status_notify(event_id=event_id)
