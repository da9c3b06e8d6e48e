"""The e-mail to a paused subscription's admins, one per language they read."""

import logging

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from abmcrm.core import i18n, roles

from ..conf import settings
from ..models import WebhookSubscription

logger = logging.getLogger(__name__)


def admins():
    """The active ABM admins and superusers who have an address, by address."""
    return list(get_user_model().objects.filter(
        Q(groups__name=roles.ABM_ADMIN) | Q(is_superuser=True), is_active=True
    ).exclude(email="").distinct().order_by("email", "pk"))


def admins_emails():
    """The addresses of the active ABM admins and superusers."""
    return sorted({user.email for user in admins()})


def subscription_paused_message(subscription):
    """(subject, body) of the e-mail about a paused subscription, in the active language."""
    subject = _("abmcrm: webhook to %(url)s paused") % {"url": subscription.url}
    body = _("The webhook subscription #%(id)s to %(url)s was paused: %(reason)s\n\n"
             "Its deliveries are listed at /api/v1/webhooks/%(id)s/deliveries/. Once the "
             "receiver answers again, set the subscription active (PATCH "
             "/api/v1/webhooks/%(id)s/ {\"is_active\": true}, or in the admin).") % {
        "id": subscription.pk, "url": subscription.url, "reason": subscription.paused_reason}
    return subject, body


def subscription_paused_notify(*, subscription_id):
    """Tell the admins a subscription was paused, why, and how to resume it: one e-mail per
    language the admins read, each to those who read it. Returns how many e-mails went.
    Never raises (a mail server that is down must not undo the pause); logged instead."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    users = admins()
    if subscription is None or not users:
        return 0
    sent = 0
    for language, readers in i18n.users_by_language(users):
        with translation.override(language):
            subject, body = subscription_paused_message(subscription)
        recipients = sorted({user.email for user in readers})
        try:
            sent += send_mail(subject, body, settings.ABMCRM_WEBHOOK_EMAIL_FROM, recipients)
        except Exception:  # noqa: BLE001 - logged; the pause stands
            logger.exception("could not e-mail the admins (%s) about paused webhook %s",
                             language, subscription.pk)
    return sent
