"""E-mails to the rep who requested an order when it is approved, rejected, cancelled,
fulfilled or failed. `order_status_notify` is called after the transition commits, whatever
made it (a marketer, auto-approval, a provider's answer), so a rolled-back change
never mails anyone and a mail server that is down never undoes a change."""

import logging
from functools import partial

from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core import i18n
from abmcrm.core.queueing import task_named

from .conf import settings as conf
from .models import OrderEvent, ProgramOrder

logger = logging.getLogger(__name__)
Status = ProgramOrder.Status

# Each e-mail is written in the language its reader chose (`abmcrm.core.i18n.user_language`),
# else the site's: the worker that sends it knows no reader's browser.
SUBJECTS = {
    Status.APPROVED: gettext_lazy("Approved: {item} for {account}"),
    Status.REJECTED: gettext_lazy("Rejected: {item} for {account}"),
    Status.CANCELLED: gettext_lazy("Cancelled: {item} for {account}"),
    Status.FULFILLED: gettext_lazy("Done: {item} for {account} was fulfilled"),
    Status.FAILED: gettext_lazy("Failed: {item} for {account} could not be fulfilled"),
}
LINES = {
    Status.APPROVED: gettext_lazy("Your order #{id} ({item}, {cost} {currency}) for {account} "
                                  "was approved{by}. It is due by {due}."),
    Status.REJECTED: gettext_lazy("Your order #{id} ({item}) for {account} was rejected{by}."),
    Status.CANCELLED: gettext_lazy("Your order #{id} ({item}) for {account} was "
                                   "cancelled{by}."),
    Status.FULFILLED: gettext_lazy("Your order #{id} ({item}) for {account} was fulfilled."),
    Status.FAILED: gettext_lazy("Your order #{id} ({item}) for {account} could not be "
                                "fulfilled{by}. Marketing may retry it."),
}


def order_status_message(event):
    """(subject, body) of the e-mail for one status change, in the active language."""
    order = event.order
    values = {
        "id": order.pk, "item": order.item.name, "account": order.account.name,
        "cost": order.cost, "currency": order.currency,
        "by": _(" by {name}").format(name=event.by.get_full_name() or event.by.get_username())
        if event.by else "",
        "due": order.due_at.date().isoformat() if order.due_at else "—",
    }
    subject = SUBJECTS[event.to_status].format(**values)
    lines = [LINES[event.to_status].format(**values)]
    if event.note:
        lines.append(_("Note: {note}").format(note=event.note))

    if conf.ABMCRM_SITE_URL:
        url = reverse("account-programs", args=[order.account_id])
        lines.append(f"{conf.ABMCRM_SITE_URL.rstrip('/')}{url}")
    return subject, "\n\n".join(lines) + "\n"


def order_status_notify(*, event_id=None, event=None, claimed=False, raise_errors=False):
    """Mail the requesting rep about one status change, once: the event is marked notified
    by a compare-and-set first (unless this process `claimed` it when creating it), so a
    second delivery of the task sends nothing. A mail failure un-marks it (for the task's
    retry) and, unless `raise_errors`, is only logged: the change stands either way.
    `event` (instead of `event_id`) is the event as its transition created it, with the
    order's relations already loaded."""
    if event is None:
        event = (OrderEvent.objects.select_related("order__item", "order__account",
                                                   "order__requested_by", "by")
                 .filter(pk=event_id).order_by().first())
    if event is None:
        return False
    recipient = event.order.requested_by
    if event.to_status not in SUBJECTS or not recipient.email:
        if claimed:  # nothing to send after all: don't let the event say it was mailed
            OrderEvent.objects.filter(pk=event.pk).update(notified_at=None)
        return False
    if not claimed and not OrderEvent.objects.filter(
            pk=event.pk, notified_at__isnull=True).update(notified_at=timezone.now()):
        return False
    with translation.override(i18n.user_language(recipient)):
        subject, body = order_status_message(event)
    try:
        send_mail(subject, body, conf.ABMCRM_ORDER_EMAIL_FROM, [recipient.email])
    except Exception:
        OrderEvent.objects.filter(pk=event.pk).update(notified_at=None)
        logger.exception("Could not e-mail %s about order #%s", recipient.email,
                         event.order_id)
        if raise_errors:
            raise
        return False
    return True


def mails_here():
    """Whether a status change made now is mailed from this process: in a worker already
    (a provider fulfilled the order), rather than by a second task."""
    from celery import current_task

    return bool(current_task) and not current_task.request.is_eager


def order_status_notify_later(*, event):
    """After commit. In a web request, hand the mail to the worker (the request does not
    wait for SMTP). In a worker already, mail from here: a second task would only add its
    overhead; it is queued only to retry a failed mail. If the broker cannot be reached,
    send it from here rather than lose it. An event created with `notified_at` set was
    claimed for this process by its transition (`transitions._transition_apply`)."""
    if mails_here():
        try:
            order_status_notify(event=event, claimed=event.notified_at is not None,
                                raise_errors=True)
            return
        except Exception:  # noqa: BLE001 - any failure: the task retries with backoff
            logger.info("E-mail about event %s failed; queued for retries", event.pk)
    try:
        task_named("programs.tasks.notify_order_status").delay(event.pk)
    except Exception:
        logger.warning("Broker unreachable: e-mailing about event %s inline", event.pk)
        order_status_notify(event=event)


def order_approval_notify_later(*, order, outcome=None):
    """The approval e-mail of an order sent through a provider, which `order_transition`
    leaves to the send task: a rep whose order is fulfilled (or failed) by the provider's
    first answer gets that one e-mail, not an approval and its outcome a second apart. Sent
    once the answer is not the outcome, or if the `outcome` reached is not mailed itself."""
    if Status.APPROVED not in conf.ABMCRM_ORDER_NOTIFY_STATUSES or (
            outcome in conf.ABMCRM_ORDER_NOTIFY_STATUSES):
        return
    event = (OrderEvent.objects.filter(order=order, to_status=Status.APPROVED,
                                       notified_at__isnull=True)
             .select_related("by").order_by("-pk").first())
    if event is not None:
        event.order = order
        transaction.on_commit(partial(order_status_notify_later, event=event), robust=True)
