from rest_framework import serializers

from ..models import Fulfillment, ProgramOrder


class FulfillmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Fulfillment
        fields = ["provider", "state", "idempotency_key", "external_id", "attempts",
                  "last_error", "dispatched_at", "sent_at"]


class FulfillmentOrderSerializer(serializers.ModelSerializer):
    """An order as the fulfillment actions answer it."""

    fulfillments = FulfillmentSerializer(many=True, read_only=True)

    class Meta:
        model = ProgramOrder
        fields = ["id", "account", "item", "status", "cost", "currency", "contact",
                  "requested_by", "assignee", "approved_at", "due_at", "closed_at", "reason",
                  "external_reference", "fulfillments"]
        read_only_fields = fields


class CompleteSerializer(serializers.Serializer):
    external_reference = serializers.CharField(max_length=200, required=False,
                                               allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FailSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, trim_whitespace=True)


class RetrySerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class WebhookResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["applied", "duplicate", "ignored"])
