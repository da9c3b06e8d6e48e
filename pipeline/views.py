"""The pipeline's API: deals (list, detail, create, update, delete, bulk upsert, move, report,
forecast), their stages, attribution and the campaign ROI. Thin: validation in the
serializers, writes in `services`, reads in `selectors`, `reports` and `attribution`."""

from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from abmcrm.core import roles
from abmcrm.core.api.mixins import BulkIngestMixin
from abmcrm.core.exceptions import InvalidInput, NotAllowed
from abmcrm.core.permissions import HasAbmRole, ReadForRolesWriteForAdmins
from programs.models import Campaign

from . import attribution, conf, ingesters, reports, selectors, services
from .filters import OpportunityFilter
from .serializers import (
    MoveSerializer,
    OpportunityRowSerializer,
    OpportunitySerializer,
    OpportunityStageSerializer,
    PeriodSerializer,
    StageChangeSerializer,
)


def plain(value):
    """Money as strings ("1250.00"), as DRF's DecimalField renders it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def may_change(user, deal):
    """Marketers and admins change every deal; a rep the deals they own."""
    return roles.is_marketer(user) or (roles.is_sales_rep(user) and deal.owner_id == user.pk)


class OpportunityPermission(permissions.BasePermission):
    """Every role reads; marketers and admins create and bulk-load; a rep moves and edits the
    deals they own (marketers and admins every deal); admins delete."""

    def has_permission(self, request, view):
        user = request.user
        if not roles.has_role(user, *roles.ROLES):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if request.method == "DELETE":
            return roles.is_abm_admin(user)
        if view.action in ("create", "bulk"):
            if not roles.is_marketer(user):
                self.message = _("Only marketers and ABM admins create and load deals.")
                return False
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        if request.method == "DELETE":
            return roles.is_abm_admin(request.user)
        if not may_change(request.user, obj):
            self.message = _("You may change only the deals you own.")
            return False
        return True


class ReportQuerySerializer(PeriodSerializer):
    group_by = serializers.ChoiceField(reports.GROUP_BYS, required=False, allow_blank=True)


class ForecastQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(required=False, min_value=1, max_value=36)
    group_by = serializers.ChoiceField(reports.FORECAST_GROUP_BYS, required=False,
                                       allow_blank=True)


def _at_most_ten_years(attrs):
    if (attrs["end"] - attrs["start"]).days >= attribution.MAX_PERIOD_DAYS:
        raise serializers.ValidationError({"start": [
            _("Attribution covers at most %(days)s days (ten years); pick a shorter period.")
            % {"days": attribution.MAX_PERIOD_DAYS}]})


class AttributionQuerySerializer(PeriodSerializer):
    model = serializers.ChoiceField(attribution.MODELS, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        _at_most_ten_years(attrs)
        attrs.setdefault("model", conf.settings.ABMCRM_ATTRIBUTION_DEFAULT_MODEL)
        return attrs


class RoiQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    model = serializers.ChoiceField(attribution.MODELS, required=False)

    def validate(self, attrs):
        if ("start" in attrs) != ("end" in attrs):
            raise serializers.ValidationError({"end": [
                _("Give both start and end, or neither (the last ten years).")]})
        if "start" in attrs:
            if attrs["start"] > attrs["end"]:
                raise serializers.ValidationError({"end": [_("The end is before the start.")]})
            _at_most_ten_years(attrs)
        return attrs


def parse(serializer_class, params):
    form = serializer_class(data=params)
    if not form.is_valid():
        raise InvalidInput(_("Invalid parameters."), detail=form.errors)
    return form.validated_data


def filtered_deals(request, view=None):
    """The deals the request's filters select (None: every deal), or a 400."""
    names = set(OpportunityFilter.base_filters) - {"ordering"}
    if not names & set(request.query_params):
        return None
    filterset = OpportunityFilter(request.query_params,
                                  queryset=selectors.opportunity_list().order_by(),
                                  request=request)
    if not filterset.is_valid():
        raise InvalidInput(_("Invalid filters."), detail=filterset.errors)
    return filterset.qs


FILTER_PARAMETERS = [OpenApiParameter(name, str, description="As the list's filter.")
                     for name in ("account", "owner", "stage", "status", "product", "campaign",
                                  "channel", "tier", "search")]


class OpportunityViewSet(BulkIngestMixin, viewsets.ModelViewSet):
    """Deals (opportunities). Every role reads; marketers and admins create, update and
    bulk-load (upsert by external_id); a rep moves and edits the deals they own; admins
    delete. A stage change goes through `…/move/` (or an update, by the same rules)."""

    serializer_class = OpportunitySerializer
    permission_classes = [OpportunityPermission]
    filterset_class = OpportunityFilter
    lookup_value_regex = r"\d+"
    bulk_kind = "opportunities"

    def get_queryset(self):
        return selectors.opportunity_list()

    def _validated(self, request, *, instance=None, partial=False):
        context = ingesters.reference_context([request.data]
                                              if isinstance(request.data, dict) else [])
        context["instance"] = instance
        form = OpportunityRowSerializer(data=request.data, partial=partial, context=context)
        if not form.is_valid():
            raise InvalidInput(_("The deal was refused."), detail=form.errors)
        return form.validated_data

    def _answer(self, deal, code=status.HTTP_200_OK):
        deal = self.get_queryset().get(pk=deal.pk)
        return Response(OpportunitySerializer(deal).data, status=code)

    @extend_schema(request=OpportunityRowSerializer,
                   responses={201: OpportunitySerializer,
                              400: OpenApiResponse(description="Refused, with field errors.")})
    def create(self, request, *args, **kwargs):
        data = self._validated(request)
        deal = services.opportunity_create(by=request.user, **data)
        return self._answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=OpportunityRowSerializer,
                   responses={200: OpportunitySerializer,
                              409: OpenApiResponse(description="Changed meanwhile.")})
    def update(self, request, *args, partial=False, **kwargs):
        deal = self.get_object()
        data = self._validated(request, instance=deal, partial=partial)
        if "owner" in data and data["owner"] != deal.owner and not roles.is_marketer(
                request.user):
            raise NotAllowed(_("Only marketers and ABM admins give a deal to another owner."))
        deal = services.opportunity_update(opportunity=deal, by=request.user, **data)
        return self._answer(deal)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.opportunity_delete(opportunity=instance)

    @extend_schema(request=MoveSerializer,
                   responses={200: OpportunitySerializer,
                              400: OpenApiResponse(description="Refused, with field errors."),
                              409: OpenApiResponse(description="Moved meanwhile.")},
                   description="Move the deal to a stage, appending its history. From won or "
                               "lost, send \"reopen\": true.")
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        deal = self.get_object()
        data = parse(MoveSerializer, request.data)
        deal = services.opportunity_move(opportunity=deal, by=request.user, **data)
        return self._answer(deal)

    @extend_schema(responses={200: StageChangeSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        deal = self.get_object()
        changes = selectors.stage_change_list(opportunity=deal)
        return Response(StageChangeSerializer(changes, many=True).data)

    @extend_schema(parameters=[ReportQuerySerializer, *FILTER_PARAMETERS],
                   responses={200: OpenApiTypes.OBJECT},
                   description="The pipeline report (docs/apps/pipeline.md).")
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def report(self, request):
        params = parse(ReportQuerySerializer, request.query_params)
        query = reports.ReportQuery(start=params["start"], end=params["end"],
                                    group_by=params.get("group_by") or None,
                                    deals=filtered_deals(request))
        return Response(plain(reports.pipeline_report(query)))

    @extend_schema(parameters=[ForecastQuerySerializer, *FILTER_PARAMETERS],
                   responses={200: OpenApiTypes.OBJECT},
                   description="The open deals by expected close month.")
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def forecast(self, request):
        params = parse(ForecastQuerySerializer, request.query_params)
        return Response(plain(reports.forecast(months=params.get("months"),
                                               group_by=params.get("group_by") or None,
                                               deals=filtered_deals(request))))


class OpportunityStageViewSet(viewsets.ModelViewSet):
    """The deals' stages, in order. Every role reads; ABM admins manage them."""

    serializer_class = OpportunityStageSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    pagination_class = None

    def get_queryset(self):
        return selectors.OpportunityStage.objects.all()


class AttributionView(APIView):
    """Multi-touch attribution of the deals opened in [start, end] to campaigns."""

    permission_classes = [HasAbmRole]

    @extend_schema(parameters=[AttributionQuerySerializer, *FILTER_PARAMETERS],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        params = parse(AttributionQuerySerializer, request.query_params)
        query = attribution.AttributionQuery(start=params["start"], end=params["end"],
                                             model=params["model"],
                                             deals=filtered_deals(request))
        return Response(plain(attribution.attribution(query)))


class CampaignRoiView(APIView):
    """A campaign's cost against the engagement, deals, pipeline and revenue attributed to
    it (`model`, default ABMCRM_ATTRIBUTION_DEFAULT_MODEL), over [start, end] (default: the
    last ten years)."""

    permission_classes = [HasAbmRole]

    @extend_schema(parameters=[RoiQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        params = parse(RoiQuerySerializer, request.query_params)
        figures = attribution.campaign_roi(campaigns=[campaign], model=params.get("model"),
                                           start=params.get("start"), end=params.get("end"))
        return Response(plain(figures[campaign.pk]))
