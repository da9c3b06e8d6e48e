"""E-mails to the rep who requested an order when it is approved, rejected, cancelled,
fulfilled or failed. `order_status_notify` is called after the transition commits, whatever
made it (a marketer, auto-approval, the fulfilment of another app), so a rolled-back change
never mails anyone and a mail server that is down never undoes a change."""

import logging

from django.core.mail import send_mail
from django.urls import reverse

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


def order_status_notify(*, event_id):
    """Mail the requesting rep about one status change. Never raises: a mail failure is
    logged, the change stands."""
    event = (OrderEvent.objects.select_related("order__item", "order__account",
                                               "order__requested_by", "by")
             .filter(pk=event_id).first())
    if event is None or event.to_status not in SUBJECTS:
        return False
    recipient = event.order.requested_by
    if not recipient.email:
        return False
    subject, body = order_status_message(event)
    try:
        send_mail(subject, body, conf.ORDER_EMAIL_FROM, [recipient.email])
    except Exception:
        logger.exception("Could not e-mail %s about order #%s", recipient.email,
                         event.order_id)
        return False
    return True
