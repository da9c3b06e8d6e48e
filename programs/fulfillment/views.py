"""API: the fulfillment actions on orders, and provider webhooks."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from abmcrm.core.exceptions import InvalidInput
from abmcrm.core.permissions import IsMarketer
from abmcrm.core.text import json_problem, parse_json

from ..models import ProgramOrder
from ..views import order_from_url
from . import queue, webhooks
from .providers import PermanentError, WebhookRefused, get_provider
from .serializers import (
    CompleteSerializer,
    FailSerializer,
    FulfillmentOrderSerializer,
    RetrySerializer,
    WebhookResultSerializer,
)

ERRORS = {400: OpenApiResponse(description="Bad input, with field errors"),
          403: OpenApiResponse(description="Not a marketer or ABM admin"),
          404: OpenApiResponse(description="No such order"),
          409: OpenApiResponse(description="The order's status does not allow this, or "
                                           "someone else changed it first")}


class OrderFulfillmentViewSet(viewsets.GenericViewSet):
    """`POST /api/v1/orders/{id}/claim/`, `/complete/`, `/fail/`, `/retry/`: the marketers'
    fulfillment moves, each one compare-and-set transition with its OrderEvent."""

    permission_classes = [IsMarketer]
    serializer_class = FulfillmentOrderSerializer
    queryset = ProgramOrder.objects.none()  # for the schema only: get_object reads the order

    def get_object(self):
        return order_from_url(self.kwargs["pk"])

    def _answer(self, order):
        order = ProgramOrder.objects.prefetch_related("fulfillments").get(pk=order.pk)
        return Response(FulfillmentOrderSerializer(order).data)

    @extend_schema(request=None, responses={200: FulfillmentOrderSerializer, **ERRORS},
                   description="Assign an approved order to me and start it (→ in progress).")
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        order = self.get_object()
        return self._answer(queue.order_claim(order=order, by=request.user))

    @extend_schema(request=CompleteSerializer, responses={200: FulfillmentOrderSerializer,
                                                          **ERRORS},
                   description="Mark fulfilled, with an optional external reference and note.")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        order = self.get_object()  # a missing order is a 404 whatever the body
        form = CompleteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._answer(queue.order_complete(order=order, by=request.user,
                                                      **form.validated_data))

    @extend_schema(request=FailSerializer, responses={200: FulfillmentOrderSerializer, **ERRORS},
                   description="Mark failed; `reason` is required.")
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        order = self.get_object()  # a missing order is a 404 whatever the body
        form = FailSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._answer(queue.order_fail(order=order, by=request.user,
                                                  reason=form.validated_data["reason"]))

    @extend_schema(request=RetrySerializer, responses={200: FulfillmentOrderSerializer,
                                                       **ERRORS},
                   description="Put a failed order back to approved (a provider order is "
                               "sent again).")
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        order = self.get_object()  # a missing order is a 404 whatever the body
        form = RetrySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._answer(queue.order_retry(order=order, by=request.user,
                                                   note=form.validated_data["note"]))


class ProviderWebhookView(APIView):
    """`POST /api/v1/providers/{name}/webhook/`: a provider's status update. Header
    `X-Abmcrm-Timestamp: <Unix seconds>` and `X-Abmcrm-Signature: sha256=<hex>`, the
    HMAC-SHA256 of `<timestamp>.<raw body>` keyed with the shared secret from the provider's
    `webhook_secret_env`; a timestamp further than ABMCRM_WEBHOOK_TOLERANCE_SECONDS from now
    is refused."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: WebhookResultSerializer,
                   400: OpenApiResponse(description="Not a webhook event"),
                   401: OpenApiResponse(description="Missing or bad signature"),
                   404: OpenApiResponse(description="Unknown provider or fulfillment")},
    )
    def post(self, request, name):
        try:
            provider = get_provider(name)
        except PermanentError:
            return Response({"detail": f"No provider “{name}”."},
                            status=status.HTTP_404_NOT_FOUND)
        body = request.body
        try:
            provider.check_signature(body, request.headers)
        except WebhookRefused as exc:
            return Response({"detail": exc.message, "code": exc.code},
                            status=status.HTTP_401_UNAUTHORIZED)
        try:
            payload = parse_json(body)
            # The event and its payload are stored: refuse what the database can't take.
            problem = json_problem(payload)
            if problem:
                raise ValueError(problem)
            event = provider.parse_webhook(payload)
        except ValueError as exc:  # JSONDocumentError is one
            return Response({"detail": str(exc) or "The body is not a webhook event."},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            result = webhooks.webhook_receive(provider=provider, event=event, payload=payload)
        except InvalidInput as exc:
            return Response({"detail": exc.message, "code": exc.code},
                            status=status.HTTP_404_NOT_FOUND)
        return Response({"status": result})
