from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Signed outbound webhooks fed by the outbox: CRM sync (HubSpot, Salesforce presets) and
    any receiver of abmcrm's events."""

    name = "webhooks"
    label = "webhooks"
    verbose_name = _("ABM outbound webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    # Subscriptions hold secrets and reach other systems: ABM admins only (not abm_managed,
    # which would let marketers view them).
    role_permissions = {
        "ABM admin": [
            "webhooks.add_webhooksubscription", "webhooks.change_webhooksubscription",
            "webhooks.delete_webhooksubscription", "webhooks.view_webhooksubscription",
            "webhooks.view_webhookdelivery", "webhooks.change_webhookdelivery",
        ],
    }
    # Every new outbox event becomes a delivery for each subscription that wants its type.
    outbox_consumers = [("webhooks", "webhooks.services.fanout.events_fan_out")]
    # The test event of "send test event"; no subscription subscribes to it.
    outbox_event_types = {"webhook.test": "webhooks: a test event sent to one subscription"}
    # Deliveries whose task was lost (broker down, worker killed) or whose retry is overdue.
    sweepers = [("webhooks", "webhooks.services.delivery.deliveries_redrive")]
