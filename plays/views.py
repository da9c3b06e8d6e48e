"""The plays API: `/api/v1/plays/` (marketers and admins), a play's log, and
`/api/v1/notifications/preferences/` (every role, their own)."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from abmcrm.core.permissions import HasAbmRole, IsMarketer

from . import alerts, selectors, services
from .filters import PlayFilter
from .serializers import NotificationPreferenceSerializer, PlayRunSerializer, PlaySerializer


class PlayViewSet(viewsets.ModelViewSet):
    """Plays: when an event happens to a matching account, suggest, notify or order."""

    serializer_class = PlaySerializer
    permission_classes = [IsMarketer]
    ordering_fields = ["name", "event", "created_at"]
    filterset_class = PlayFilter

    def get_queryset(self):
        return selectors.play_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.play_create(by=self.request.user,
                                                   **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.play_update(play=serializer.instance,
                                                   by=self.request.user,
                                                   **serializer.validated_data)

    def perform_destroy(self, instance):
        services.play_delete(play=instance, by=self.request.user)

    @extend_schema(responses={200: PlayRunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def log(self, request, pk=None):
        """What the play did, newest first: the event, the account, each action's result
        and why the play fired."""
        play = self.get_object()
        page = self.paginate_queryset(selectors.play_log(play=play))
        return self.get_paginated_response(PlayRunSerializer(page, many=True).data)


class NotificationPreferenceView(APIView):
    """The signed-in user's own alert preferences."""

    permission_classes = [HasAbmRole]

    @extend_schema(responses={200: NotificationPreferenceSerializer})
    def get(self, request):
        preference = alerts.preference_of(request.user)
        return Response(NotificationPreferenceSerializer(preference).data)

    @extend_schema(request=NotificationPreferenceSerializer,
                   responses={200: NotificationPreferenceSerializer})
    def put(self, request):
        form = NotificationPreferenceSerializer(alerts.preference_of(request.user),
                                                data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        preference = services.preference_save(user=request.user, **form.validated_data)
        return Response(NotificationPreferenceSerializer(preference).data)

    patch = put
