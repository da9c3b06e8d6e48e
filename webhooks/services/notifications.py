"""The e-mail to a paused subscription's admins."""

import logging

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils.translation import gettext as _

from abmcrm.core import roles

from ..conf import settings
from ..models import WebhookSubscription

logger = logging.getLogger(__name__)


def admins_emails():
    """The addresses of the active ABM admins and superusers."""
    users = get_user_model().objects.filter(
        Q(groups__name=roles.ABM_ADMIN) | Q(is_superuser=True), is_active=True
    ).exclude(email="").values_list("email", flat=True).distinct()
    return sorted(users)


def subscription_paused_notify(*, subscription_id):
    """Tell the admins a subscription was paused, why, and how to resume it. Never raises (a
    mail server that is down must not undo the pause); logged instead."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    recipients = admins_emails()
    if subscription is None or not recipients:
        return 0
    subject = _("abmcrm: webhook to %(url)s paused") % {"url": subscription.url}
    body = _("The webhook subscription #%(id)s to %(url)s was paused: %(reason)s\n\n"
             "Its deliveries are listed at /api/v1/webhooks/%(id)s/deliveries/. Once the "
             "receiver answers again, set the subscription active (PATCH "
             "/api/v1/webhooks/%(id)s/ {\"is_active\": true}, or in the admin).") % {
        "id": subscription.pk, "url": subscription.url, "reason": subscription.paused_reason}
    try:
        return send_mail(subject, body, settings.ABMCRM_WEBHOOK_EMAIL_FROM, recipients)
    except Exception:  # noqa: BLE001 - logged; the pause stands
        logger.exception("could not e-mail the admins about paused webhook %s", subscription.pk)
        return 0
