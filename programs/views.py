from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from abmcrm.core.ids import object_or_404
from abmcrm.core.permissions import HasAbmRole, ReadForRolesWriteForAdmins
from tiers import selectors as tier_selectors

from . import selectors, services
from .filters import BudgetFilter, CampaignFilter, OrderFilter, ProgramItemFilter
from .serializers import (
    BudgetSerializer,
    CampaignSerializer,
    MenuLineSerializer,
    OrderApproveSerializer,
    OrderCancelSerializer,
    OrderCreateSerializer,
    OrderRejectSerializer,
    ProgramItemSerializer,
    ProgramOrderSerializer,
)


def order_from_url(pk):
    """The order an action's URL names, or the API's 404 (also for an id that is no id)."""
    order = selectors.order_for_action(pk)
    if order is None:
        raise NotFound()
    return order


class CampaignViewSet(viewsets.ModelViewSet):
    serializer_class = CampaignSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    # Numeric ids only: `campaigns/attribution/` and other campaign reports of the apps
    # above share the prefix.
    lookup_value_regex = r"\d+"
    filterset_class = CampaignFilter
    ordering_fields = ["name", "start_date", "end_date", "created_at"]

    def get_queryset(self):
        return selectors.campaign_list(user=self.request.user)

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance)


class ProgramItemViewSet(viewsets.ModelViewSet):
    """The program items; `?tier=1` lists tier 1's menu in menu order. Admins write."""

    serializer_class = ProgramItemSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    filterset_class = ProgramItemFilter
    ordering_fields = ["name", "unit_cost", "lead_time_days", "created_at"]

    def get_queryset(self):
        return selectors.program_item_list(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        tiers = data.pop("menu_entries", None)
        serializer.instance = services.program_item_create(tiers=tiers, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        tiers = data.pop("menu_entries", None)
        services.program_item_update(item=serializer.instance, tiers=tiers, **data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.program_item_delete(item=instance)


class AccountMenuView(APIView):
    """The items on the account's tier menu that are active today, each with whether it can
    be ordered now (and why not) and the budget left."""

    permission_classes = [HasAbmRole]

    @extend_schema(responses={200: MenuLineSerializer(many=True)})
    def get(self, request, pk):
        account = object_or_404(
            tier_selectors.account_list(user=request.user).select_related(None)
            .select_related("tier").prefetch_related(None), pk)
        lines = selectors.attach_suggestions(account=account,
                                             lines=selectors.menu_lines(account=account))
        if not services.may_order_for(request.user, account):
            for line in lines:
                line.reasons.insert(0, ("account_not_allowed",
                                        _("you may order programs only for accounts you "
                                          "own")))
        return Response(MenuLineSerializer(lines, many=True).data)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Program orders. Reps see the orders they requested; marketers and admins see all."""

    serializer_class = ProgramOrderSerializer
    permission_classes = [HasAbmRole]
    filterset_class = OrderFilter
    ordering_fields = ["created_at", "cost", "due_at", "status"]

    def get_queryset(self):
        return selectors.order_rows(user=self.request.user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        selectors.attach_event_rows(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        order = selectors.attach_event_rows([self.get_object()])[0]
        return Response(self.get_serializer(order).data)

    def _order(self):
        # Any role may address any order by id; the service says whether they may act on it
        # (403), rather than a rep getting 404 for an order they can't see.
        return order_from_url(self.kwargs["pk"])

    def _answer(self, order):
        order = selectors.orders_by_ids([order.pk]).get()
        return Response(ProgramOrderSerializer(order).data)

    @extend_schema(request=OrderCreateSerializer,
                   responses={201: ProgramOrderSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        orders = services.order_submit(requested_by=request.user, **form.validated_data)
        # The orders come back with their account, item, tier and requester loaded: only
        # their history is read again.
        selectors.attach_events(orders)
        return Response(ProgramOrderSerializer(orders, many=True).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderApproveSerializer, responses={200: ProgramOrderSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        order = self._order()  # a missing order is a 404 whatever the body
        form = OrderApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        order = services.order_approve(order=order, by=request.user,
                                       note=form.validated_data["note"])
        return self._answer(order)

    @extend_schema(request=OrderRejectSerializer, responses={200: ProgramOrderSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        order = self._order()
        if not services.may_approve(request.user):
            # Say "not allowed" before "reason missing" to someone who may never reject.
            self.permission_denied(request, message=_("Only marketers and ABM admins reject "
                                                      "orders."))

        form = OrderRejectSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        order = services.order_reject(order=order, by=request.user,
                                      reason=form.validated_data["reason"])
        return self._answer(order)

    @extend_schema(request=OrderCancelSerializer, responses={200: ProgramOrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self._order()
        form = OrderCancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        order = services.order_cancel(order=order, by=request.user,
                                      reason=form.validated_data["reason"])
        return self._answer(order)


@extend_schema(parameters=[OpenApiParameter("active_on", str, description="YYYY-MM-DD")])
class BudgetViewSet(viewsets.ModelViewSet):
    serializer_class = BudgetSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    filterset_class = BudgetFilter
    ordering_fields = ["start_date", "end_date", "name", "limit"]

    def get_queryset(self):
        return selectors.budget_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.budget_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.budget_update(budget=serializer.instance,
                                                     **serializer.validated_data)

    def perform_destroy(self, instance):
        services.budget_delete(budget=instance)
