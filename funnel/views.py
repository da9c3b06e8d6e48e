import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from abmcrm.core.api.mixins import BulkIngestMixin
from abmcrm.core.exceptions import Conflict, InvalidInput
from abmcrm.core.permissions import (
    HasAbmRole,
    IsAbmAdmin,
    ReadForRolesWriteForMarketersDeleteForAdmins,
)
from abmcrm.core.throttling import THROTTLED, UserRateThrottle

from . import conf, ingesters, quotas, reports, selectors, services
from .filters import LeadFilter, TransitionFilter
from .serializers import (
    LeadSerializer,
    PipelineQuotaSerializer,
    TransitionBatchResultSerializer,
    TransitionRowSerializer,
    TransitionSerializer,
)


def _plain(value):
    """Money as strings ("1250.00"), as DRF's DecimalField renders it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class LeadViewSet(BulkIngestMixin, viewsets.ModelViewSet):
    """Demand-gen leads. A new lead is matched to an account by e-mail domain (unless one is
    given) and enters the demand-gen side's first stage at its `created_at`."""

    serializer_class = LeadSerializer
    permission_classes = [ReadForRolesWriteForMarketersDeleteForAdmins]
    filterset_class = LeadFilter
    ordering_fields = ["created_at", "email", "company"]
    bulk_kind = "leads"

    def get_queryset(self):
        return selectors.lead_list()

    def perform_create(self, serializer):
        serializer.instance = services.lead_create(user=self.request.user,
                                                   **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.lead_update(lead=serializer.instance,
                                                   **serializer.validated_data)


class TransitionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Stage transitions: append-only. `POST` takes one transition or a list of up to 10,000."""

    serializer_class = TransitionSerializer
    permission_classes = [ReadForRolesWriteForMarketersDeleteForAdmins]
    filterset_class = TransitionFilter

    def get_queryset(self):
        return selectors.transition_list()

    @extend_schema(
        request=TransitionRowSerializer,
        responses={201: TransitionSerializer, 200: TransitionBatchResultSerializer,
                   400: OpenApiResponse(description="Refused, with per-field errors."),
                   409: OpenApiResponse(description="The entity moved meanwhile.")},
        description=(
            "One transition object → 201 with the transition (200 with the first one if its "
            "external_id was already recorded; 400 with the reasons if refused). A list of "
            "up to 10,000 → 200 with {created, updated, unchanged, errors: [{index, errors}], "
            "results: [{index, id, created}]}."),
    )
    def create(self, request, *args, **kwargs):
        single = isinstance(request.data, dict)
        items = [request.data] if single else request.data
        batch = ingesters.transitions_record(items=items, user=request.user)
        if not single:
            return Response(batch.as_dict())
        if batch.errors:
            if batch.conflicts:
                raise Conflict(batch.errors[0]["errors"]["non_field_errors"][0],
                               code="concurrent_move")
            raise InvalidInput(_("The transition was refused."),
                               detail=batch.errors[0]["errors"])
        transition = batch.transition(0)
        code = status.HTTP_201_CREATED if batch.created else status.HTTP_200_OK
        return Response(TransitionSerializer(transition).data, status=code)


class ReportQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    side = serializers.ChoiceField(["abm", "demand_gen", "both"], default="both")
    mode = serializers.ChoiceField(reports.MODES, default="cohort")
    group_by = serializers.ChoiceField(reports.GROUP_BYS, required=False, allow_blank=True)

    def _in_range(self, value):
        # The report counts up to the day after `end`, which must exist.
        if value >= date.max - timedelta(days=1):
            raise serializers.ValidationError(_("Pick a date before 9999-12-31."))
        return value

    validate_start = validate_end = _in_range

    def validate(self, attrs):
        today = timezone.localdate()
        attrs.setdefault("end", today)
        attrs.setdefault("start", attrs["end"] - timedelta(
            days=conf.settings.ABMCRM_FUNNEL_DEFAULT_PERIOD_DAYS))
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"end": [_("The end is before the start.")]})
        attrs["group_by"] = attrs.get("group_by") or None
        return attrs


def report_query(params):
    form = ReportQuerySerializer(data=params)
    if not form.is_valid():
        raise InvalidInput(_("Invalid report parameters."), detail=form.errors)

    return reports.ReportQuery(**form.validated_data)


class ReportView(APIView):
    """The dual-funnel report (see docs/apps/funnel.md for the definitions)."""

    permission_classes = [HasAbmRole]

    def get_throttles(self):
        # Each report aggregates every transition in its window: per-user rate
        # ABMCRM_THROTTLE_RATES["funnel_report"].
        return [UserRateThrottle("funnel_report")]

    @extend_schema(parameters=[ReportQuerySerializer],
                   responses={200: OpenApiTypes.OBJECT, 429: THROTTLED})
    def get(self, request):
        return Response(_plain(reports.funnel_report(report_query(request.query_params))))


class QuotaViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                   mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Pipeline quotas. `GET ?month=YYYY-MM` answers each channel's quota, pipeline created
    and attainment; every role reads, ABM admins manage quotas."""

    serializer_class = PipelineQuotaSerializer
    pagination_class = None

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [HasAbmRole()]
        return [IsAbmAdmin()]

    def get_queryset(self):
        return selectors.quota_list()

    @extend_schema(
        operation_id="funnel_quotas_attainment",
        parameters=[OpenApiParameter("month", str, description="YYYY-MM (default: this "
                                                               "month)")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request):
        raw = request.query_params.get("month") or f"{timezone.localdate():%Y-%m}"
        return Response(_plain(quotas.quota_attainment(month=_month(raw))))


def _month(raw):
    """The first day of the month `raw` ("YYYY-MM") names; InvalidInput if it names none the
    report can count (its end is the first day of the next month, which must exist)."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", raw.strip())
    year, month = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (1 <= month <= 12) or not (2 <= year <= 9998):
        raise InvalidInput(_("Invalid month."), detail={"month": [
            _("“%(raw)s” is not a month from 0002-01 to 9998-12; use YYYY-MM, e.g. 2025-03.")
            % {"raw": raw}]})
    return date(year, month, 1)
