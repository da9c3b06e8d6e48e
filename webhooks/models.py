from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from abmcrm.core.models import OutboxEvent


class WebhookSubscription(models.Model):
    """A receiver of abmcrm's events: where to POST, the secret that signs each request, the
    event types it wants and the payload preset (abmcrm's own, or a CRM's fields)."""

    class Preset(models.TextChoices):
        ABMCRM = "abmcrm", _("abmcrm")
        HUBSPOT = "hubspot", _("HubSpot company properties")
        SALESFORCE = "salesforce", _("Salesforce Account fields")

    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("secret"), max_length=200,
                              help_text=_("Signs every request (HMAC-SHA256); never shown "
                                          "again once saved."))
    events = models.JSONField(_("event types"), default=list)
    preset = models.CharField(_("payload preset"), max_length=20, choices=Preset.choices,
                              default=Preset.ABMCRM)
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_reason = models.TextField(_("why paused"), blank=True)
    failing_since = models.DateTimeField(
        _("failing since"), null=True, blank=True,
        help_text=_("The first failed attempt since the last success; empty: not failing."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["id"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription, tried until delivered, refused (a 4xx other than
    408/429), or dead-lettered after ABMCRM_WEBHOOK_MAX_ATTEMPTS. Pending deliveries of one
    account and subscription are sent one at a time, in order of id (the order of the
    events): only the head of each queue is in flight."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (refused by the receiver)")
        DEAD = "dead", _("Dead-lettered")

    subscription = models.ForeignKey(WebhookSubscription, verbose_name=_("subscription"),
                                     on_delete=models.CASCADE,
                                     related_name="deliveries")
    # Pruned with its event (ABMCRM_OUTBOX_RETENTION_DAYS).
    event = models.ForeignKey(OutboxEvent, verbose_name=_("event"),
                              on_delete=models.CASCADE, related_name="+")
    # Copied from the event: sending needs no join.
    event_type = models.CharField(_("event type"), max_length=64)
    account_id = models.BigIntegerField(_("account id"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"),
                              max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"),
                                                        null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_until = models.DateTimeField(
        _("claimed until"), null=True, blank=True,
        help_text=_("While an attempt is under way: until when it holds the delivery."))
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"],
                                    name="webhooks_delivery_once_per_event"),
        ]
        indexes = [
            # The head of each (subscription, account) queue, and the sweeper's scan: only
            # the pending deliveries are in it.
            models.Index(fields=["subscription", "account_id", "id"],
                         name="webhooks_delivery_queue",
                         condition=models.Q(status="pending")),
            models.Index(fields=["subscription", "-id"], name="webhooks_delivery_list"),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.subscription_id} ({self.status})"
