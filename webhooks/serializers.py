from django.utils.translation import gettext as _
from rest_framework import serializers

from . import services
from .models import WebhookDelivery, WebhookSubscription
from .services import targets


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    """`secret` is write-only: required on create, never answered."""

    secret = serializers.CharField(write_only=True, min_length=16, max_length=200,
                                   trim_whitespace=False)
    events = serializers.ListField(child=serializers.CharField(), allow_empty=False,
                                   max_length=50)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "secret", "events", "preset", "is_active", "paused_at",
                  "paused_reason", "failing_since", "created_at", "updated_at"]
        read_only_fields = ["paused_at", "paused_reason", "failing_since", "created_at",
                            "updated_at"]

    def validate_url(self, value):
        problem = targets.url_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_events(self, value):
        known = services.subscribable_types()
        unknown = sorted({name for name in value if name not in known})
        if unknown:
            raise serializers.ValidationError(
                _("Unknown event type(s): %(unknown)s. Choose among: %(known)s.") % {
                    "unknown": ", ".join(unknown), "known": ", ".join(known)})
        return list(dict.fromkeys(value))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.UUIDField(source="event_id", read_only=True)
    type = serializers.CharField(source="event_type", read_only=True)
    next_attempt_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "subscription", "event", "type", "account_id", "status", "attempts",
                  "last_status_code", "response_excerpt", "last_error", "next_attempt_at",
                  "delivered_at", "created_at"]
        read_only_fields = fields

    def get_next_attempt_at(self, delivery) -> str | None:
        """The next try, for a pending delivery only."""
        if delivery.status != WebhookDelivery.Status.PENDING or not delivery.next_attempt_at:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)
