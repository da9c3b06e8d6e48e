"""Admin for fulfillments and provider webhook events."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from ..models import Fulfillment, ProviderEvent
from . import dispatch


@admin.register(Fulfillment)
class FulfillmentAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "provider", "state", "round", "attempts", "external_id",
                    "dispatched_at", "updated_at"]
    list_filter = ["state", "provider"]
    search_fields = ["idempotency_key", "external_id", "order__account__name"]
    list_select_related = ["order__item", "order__account"]
    raw_id_fields = ["order"]
    readonly_fields = ["idempotency_key", "round", "attempts", "external_id", "last_error",
                       "dispatched_at", "sent_at", "created_at", "updated_at"]
    actions = ["queue_again"]

    @admin.action(description=_("Queue the send task again (the provider is asked first)"))
    def queue_again(self, request, queryset):
        queued = sum(bool(dispatch.fulfillment_dispatch(fulfillment_id=pk))
                     for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Queued {queued} of {queryset.count()}.", messages.INFO)


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "provider", "kind", "fulfillment", "received_at"]
    list_filter = ["provider", "kind"]
    search_fields = ["event_id"]
    list_select_related = ["fulfillment"]
    readonly_fields = ["provider", "event_id", "fulfillment", "kind", "payload", "received_at"]
