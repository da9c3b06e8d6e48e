"""The in-market model's API: versions (list, detail, activate) and training jobs (start,
follow). Marketers and admins read; admins train and activate; reps are refused."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from abmcrm.core.permissions import IsAbmAdmin, IsMarketer

from . import selectors, services
from .serializers import InMarketModelSerializer, TrainingJobSerializer, TrainingStartSerializer


class InMarketModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Model versions, newest first; `POST {version}/activate/` (admins) makes one active —
    a roll back is the activation of an older version."""

    serializer_class = InMarketModelSerializer
    lookup_field = "version"
    lookup_value_regex = r"\d{1,9}"
    filterset_class = None
    ordering_fields = []

    def get_queryset(self):
        return selectors.model_list()

    def get_permissions(self):
        return [IsAbmAdmin()] if self.action == "activate" else [IsMarketer()]

    @extend_schema(request=None, responses={200: InMarketModelSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, version=None):
        model = services.model_activate(model=self.get_object())
        return Response(self.get_serializer(model).data)


class TrainingJobViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                         mixins.ListModelMixin, viewsets.GenericViewSet):
    """`POST` (admins) starts a training and answers 202 with the job; `GET {id}` shows its
    progress and result."""

    serializer_class = TrainingJobSerializer
    filterset_class = None
    ordering_fields = []

    def get_queryset(self):
        return selectors.training_job_list()

    def get_permissions(self):
        return [IsAbmAdmin()] if self.action == "create" else [IsMarketer()]

    @extend_schema(request=TrainingStartSerializer, responses={202: TrainingJobSerializer})
    def create(self, request, *args, **kwargs):
        form = TrainingStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = services.training_start(user=request.user,
                                      activate=form.validated_data["activate"])
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
