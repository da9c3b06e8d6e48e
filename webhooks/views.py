"""The webhooks API (ABM admins only): subscriptions, their deliveries, the test event and
redelivery. Thin: validation in the serializers, writes in `services`."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from abmcrm.core.permissions import IsAbmAdmin

from . import selectors, services
from .filters import WebhookDeliveryFilter
from .serializers import WebhookDeliverySerializer, WebhookSubscriptionSerializer


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """Outbound webhooks: where abmcrm POSTs its events, signed with the secret."""

    permission_classes = [IsAbmAdmin]
    serializer_class = WebhookSubscriptionSerializer

    def get_queryset(self):
        return selectors.subscription_list()

    def perform_create(self, serializer):
        serializer.instance = services.subscription_create(by=self.request.user,
                                                           **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.subscription_update(
            subscription=serializer.instance, **serializer.validated_data)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)},
                   description="The subscription's deliveries, newest first; filter by "
                               "`status`, `type`, `account`.")
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        filterset = WebhookDeliveryFilter(
            request.query_params, queryset=selectors.delivery_list(subscription=subscription))
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer},
                   description="Send a test event (`webhook.test`) to this subscription.")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.subscription_test(subscription=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data,
                        status=status.HTTP_202_ACCEPTED)

    def get_serializer_class(self):
        if self.action == "deliveries":
            return WebhookDeliverySerializer
        return super().get_serializer_class()

    def filter_queryset(self, queryset):
        if self.action == "deliveries":
            return queryset  # the deliveries are filtered by WebhookDeliveryFilter
        return super().filter_queryset(queryset)


class WebhookDeliveryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One delivery, and its redelivery."""

    permission_classes = [IsAbmAdmin]
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self):
        return selectors.delivery_list()

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer},
                   description="Send the delivery again from its first attempt.")
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = services.delivery_redeliver(delivery=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data,
                        status=status.HTTP_202_ACCEPTED)
