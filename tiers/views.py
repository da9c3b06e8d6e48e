from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import ingest, selectors, services
from .filters import AccountFilter, ContactFilter
from .models import ImportJob
from .permissions import AccountPermission, HasAbmRole
from .serializers import (
    AccountRowSerializer,
    AccountSerializer,
    BulkResultSerializer,
    ContactRowSerializer,
    ContactSerializer,
    ImportCreateSerializer,
    ImportJobSerializer,
    TierSerializer,
)


class BulkIngestMixin:
    """Adds `POST …/bulk/`: a JSON list of up to 10,000 items, upserted; answers
    `{created, updated, unchanged, errors: [{index, errors}]}`. Set `bulk_kind`."""

    bulk_kind = ""

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"},
                                      "maxItems": ingest.MAX_BULK_ITEMS}},
        responses={200: BulkResultSerializer},
        description="Upsert up to 10,000 items; valid items land even when others are invalid.",
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request, *args, **kwargs):
        ingester = ingest.get_ingester(self.bulk_kind)
        if not request.user.has_perm(ingester.permission):
            self.permission_denied(request, message=f"You may not import {ingester.label}.")
        result = services.bulk_ingest(kind=self.bulk_kind, items=request.data, user=request.user)
        return Response(result.as_dict())


@extend_schema_view(bulk=extend_schema(request=AccountRowSerializer(many=True)))
class AccountViewSet(BulkIngestMixin, viewsets.ModelViewSet):
    serializer_class = AccountSerializer
    permission_classes = [AccountPermission]
    filterset_class = AccountFilter
    ordering_fields = ["name", "domain", "employees", "annual_revenue", "estimated_acv",
                       "created_at"]
    bulk_kind = "accounts"

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.account_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.account_update(
            account=serializer.instance, **serializer.validated_data
        )


@extend_schema_view(bulk=extend_schema(request=ContactRowSerializer(many=True)))
class ContactViewSet(BulkIngestMixin, viewsets.ModelViewSet):
    serializer_class = ContactSerializer
    permission_classes = [AccountPermission]
    filterset_class = ContactFilter
    ordering_fields = ["last_name", "first_name", "email", "created_at"]
    bulk_kind = "contacts"

    def get_queryset(self):
        return selectors.contact_list(user=self.request.user)

    def perform_create(self, serializer):
        account = serializer.validated_data["account"]
        # Reps add contacts to the accounts they own.
        if not AccountPermission().has_object_permission(self.request, self, account):
            self.permission_denied(self.request, message="You may only add contacts to "
                                                         "accounts you own.")
        serializer.save()


class TierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TierSerializer
    permission_classes = [HasAbmRole]
    pagination_class = None

    def get_queryset(self):
        return selectors.tier_list()


class ImportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                    mixins.ListModelMixin, viewsets.GenericViewSet):
    """CSV imports: `POST` (multipart `kind`, `file`) answers 202 with the job; `GET {id}`
    shows its progress and each bad row with its line number."""

    permission_classes = [IsAuthenticated, HasAbmRole]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportJobSerializer

    queryset = ImportJob.objects.none()  # for the schema; get_queryset() filters per user

    def get_queryset(self):
        return selectors.import_job_list(user=self.request.user)

    @extend_schema(request=ImportCreateSerializer, responses={202: ImportJobSerializer,
                                                             400: OpenApiResponse()})
    def create(self, request, *args, **kwargs):
        form = ImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        ingester = ingest.get_ingester(form.validated_data["kind"])
        if not request.user.has_perm(ingester.permission):
            self.permission_denied(request, message=f"You may not import {ingester.label}.")
        job = services.import_start(
            kind=form.validated_data["kind"], file=form.validated_data["file"], user=request.user
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
