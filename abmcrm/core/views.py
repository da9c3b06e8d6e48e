"""API of the core's own resources: CSV import jobs."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from . import ingest, selectors
from .api.serializers import ImportCreateSerializer, ImportJobListSerializer, ImportJobSerializer
from .ids import object_or_404
from .models import ImportJob
from .permissions import HasAbmRole
from .throttling import THROTTLED, UserRateThrottle


class ImportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                    mixins.ListModelMixin, viewsets.GenericViewSet):
    """CSV imports: `POST` (multipart `kind`, `file`) answers 202 with the job; `GET {id}`
    shows its progress and each bad row with its line number (the list leaves the bad rows
    out)."""

    permission_classes = [IsAuthenticated, HasAbmRole]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ImportJobSerializer

    queryset = ImportJob.objects.none()  # for the schema; get_queryset() filters per user

    def get_queryset(self):
        return selectors.import_job_list(user=self.request.user)

    def get_throttles(self):
        # An import parses and upserts a whole file: per-user rate ABMCRM_THROTTLE_RATES["imports"].
        if self.action == "create":
            return [UserRateThrottle("imports")]
        return super().get_throttles()

    def get_serializer_class(self):
        return ImportJobListSerializer if self.action == "list" else ImportJobSerializer

    @extend_schema(request=ImportCreateSerializer, responses={202: ImportJobSerializer,
                                                             400: OpenApiResponse(),
                                                             429: THROTTLED})
    def create(self, request, *args, **kwargs):
        form = ImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        ingester = ingest.get_ingester(form.validated_data["kind"])
        if not request.user.has_perm(ingester.permission):
            self.permission_denied(request, message=_("You may not import %(kind)s.")
                                   % {"kind": ingester.label})

        job = ingest.import_start(
            kind=form.validated_data["kind"], file=form.validated_data["file"], user=request.user
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    def get_object(self):
        return object_or_404(self.get_queryset(), self.kwargs["pk"])
