from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from abmcrm.core.api.mixins import BulkIngestMixin
from abmcrm.core.ids import object_or_404
from abmcrm.core.permissions import (
    AccountPermission,
    HasAbmRole,
    IsMarketer,
    ReadForRolesWriteForAdmins,
    ReadForRolesWriteForMarketers,
)
from abmcrm.core.throttling import THROTTLED, UserRateThrottle

from . import selectors, services
from .filters import (
    AccountFilter,
    ContactFilter,
    EngagementEventFilter,
    IntentSignalFilter,
    RecomputeJobFilter,
)
from .models import EngagementKind, IcpCriterion, IcpPersona, IcpProfile, RecomputeJob
from .serializers import (
    AccountRowSerializer,
    AccountScoresSerializer,
    AccountSerializer,
    ContactRowSerializer,
    ContactSerializer,
    EngagementEventSerializer,
    EngagementKindSerializer,
    IcpCriterionSerializer,
    IcpPersonaSerializer,
    IcpProfileSerializer,
    IcpSuggestionApplySerializer,
    IcpSuggestionSerializer,
    IntentSignalSerializer,
    RecomputeJobSerializer,
    RecomputeStartSerializer,
    SegmentSerializer,
    TierAssignmentSerializer,
    TierCommitteeSerializer,
    TierOverrideSerializer,
    TierRuleSerializer,
    TierSerializer,
    TierUnlockSerializer,
)


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

    def get_permissions(self):
        if self.action in ("scores", "tier_history"):
            return [HasAbmRole()]
        if self.action in ("tier_override", "tier_unlock"):
            return [IsMarketer()]
        return super().get_permissions()

    @extend_schema(responses={200: AccountScoresSerializer},
                   description="Fit, intent and engagement scores, surging topics, tier, the "
                               "rule that placed it, and the explanation of each.")
    @action(detail=True, methods=["get"])
    def scores(self, request, pk=None):
        account = object_or_404(
            selectors.account_list(user=request.user).select_related("tier_rule__tier"), pk)
        return Response(selectors.account_scores(account=account))

    @extend_schema(responses={200: TierAssignmentSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="tier-history", pagination_class=None)
    def tier_history(self, request, pk=None):
        account = self.get_object()
        rows = selectors.tier_assignment_list(account=account)
        return Response(TierAssignmentSerializer(rows, many=True).data)

    @extend_schema(request=TierOverrideSerializer, responses={200: TierAssignmentSerializer})
    @action(detail=True, methods=["post"], url_path="tier-override")
    def tier_override(self, request, pk=None):
        """Marketers and admins: set the tier by hand (null: untiered) and lock it."""
        account = self.get_object()
        form = TierOverrideSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        assignment = services.account_tier_override(
            account=account, tier=form.validated_data["tier"],
            reason=form.validated_data["reason"], by=request.user)
        return Response(TierAssignmentSerializer(assignment).data)

    @extend_schema(request=TierUnlockSerializer, responses={200: AccountSerializer})
    @action(detail=True, methods=["post"], url_path="tier-unlock")
    def tier_unlock(self, request, pk=None):
        """Marketers and admins: unlock the tier; the rules place the account again at once."""
        account = self.get_object()
        form = TierUnlockSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        account = services.account_tier_unlock(account=account, by=request.user,
                                               reason=form.validated_data.get("reason", ""))
        return Response(AccountSerializer(account).data)


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
        serializer.instance = services.contact_create(**serializer.validated_data)

    def perform_update(self, serializer):
        account = serializer.validated_data.get("account")
        # Moving a contact is adding it to the new account: reps only to accounts they own.
        if account is not None and not AccountPermission().has_object_permission(
            self.request, self, account
        ):
            self.permission_denied(self.request, message="You may only move contacts to "
                                                         "accounts you own.")
        serializer.instance = services.contact_update(contact=serializer.instance,
                                                      **serializer.validated_data)


class TierViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                  viewsets.GenericViewSet):
    """Tiers with their account counts; admins edit name, description, model, capacity."""

    serializer_class = TierSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    pagination_class = None

    def get_queryset(self):
        return selectors.tier_list()

    def perform_update(self, serializer):
        old = serializer.instance.engagement_multiplier
        tier = serializer.save()
        if tier.engagement_multiplier != old:
            services.accounts_rescore_all()

    @extend_schema(methods=["GET"], responses={200: TierCommitteeSerializer})
    @extend_schema(methods=["PUT"], request=TierCommitteeSerializer,
                   responses={200: TierCommitteeSerializer})
    @action(detail=True, methods=["get", "put"])
    def committee(self, request, pk=None):
        """The tier's required buying committee: buying role → contacts required. Every role
        reads; ABM admins replace it (roles left out are no longer required), and the
        coverage of the tier's accounts follows."""
        tier = self.get_object()
        if request.method == "PUT":
            form = TierCommitteeSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            services.tier_committee_set(tier=tier, roles=form.validated_data["roles"])
        return Response({"roles": services.tier_committee(tier=tier)})


class IntentSignalViewSet(BulkIngestMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Weekly intent signals; `POST bulk/` upserts up to 10,000 (marketers and admins)."""

    serializer_class = IntentSignalSerializer
    permission_classes = [HasAbmRole]
    filterset_class = IntentSignalFilter
    ordering_fields = ["week", "score", "topic"]
    bulk_kind = "intent_signals"

    def get_queryset(self):
        return selectors.intent_signal_list(user=self.request.user)


class EngagementEventViewSet(BulkIngestMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Engagement events; `POST bulk/` records up to 10,000 (marketers and admins)."""

    serializer_class = EngagementEventSerializer
    permission_classes = [HasAbmRole]
    filterset_class = EngagementEventFilter
    ordering_fields = ["occurred_at"]
    bulk_kind = "engagement_events"

    def get_queryset(self):
        return selectors.engagement_event_list(user=self.request.user)


class EngagementKindViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.CreateModelMixin, mixins.UpdateModelMixin,
                            viewsets.GenericViewSet):
    """Kinds of engagement and their weights (0: not meaningful); admins add and edit."""

    serializer_class = EngagementKindSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    pagination_class = None
    filterset_class = None

    def get_queryset(self):
        return EngagementKind.objects.all()


class TierRuleViewSet(viewsets.ModelViewSet):
    """Tier rules, tried in priority order (lower first); admins edit."""

    serializer_class = TierRuleSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    pagination_class = None
    filterset_class = None

    def get_queryset(self):
        return selectors.tier_rule_list()


class RecomputeJobViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                          mixins.ListModelMixin, viewsets.GenericViewSet):
    """`POST` starts a rescoring and retiering of all accounts (or `accounts`: ids) and
    answers 202 with the job; `GET {id}` shows its progress and result. The list shows the
    requested and scheduled recomputes; `?trigger=change` the rescoring of accounts whose
    data changed, `?trigger=all` every job."""

    serializer_class = RecomputeJobSerializer
    permission_classes = [IsMarketer]
    filterset_class = RecomputeJobFilter

    def get_queryset(self):
        queryset = selectors.recompute_job_list(user=self.request.user)
        if self.action == "list" and not self.request.query_params.get("trigger"):
            queryset = queryset.exclude(trigger=RecomputeJob.Trigger.CHANGE)
        return queryset

    def get_throttles(self):
        # Starting one rescores every account: per-user rate ABMCRM_THROTTLE_RATES["recompute"].
        if self.action == "create":
            return [UserRateThrottle("recompute")]
        return super().get_throttles()

    @extend_schema(request=RecomputeStartSerializer,
                   responses={202: RecomputeJobSerializer, 429: THROTTLED})
    def create(self, request, *args, **kwargs):
        form = RecomputeStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = services.recompute_start(user=request.user,
                                       account_ids=form.validated_data.get("accounts"))
        job.refresh_from_db()
        return Response(RecomputeJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class IcpProfileViewSet(viewsets.ModelViewSet):
    """ICP profiles with their criteria; one is active; admins edit."""

    serializer_class = IcpProfileSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    filterset_class = None

    def get_queryset(self):
        return IcpProfile.objects.prefetch_related("criteria")

    def perform_create(self, serializer):
        profile = serializer.save(is_active=False)
        if serializer.validated_data.get("is_active"):
            services.icp_profile_activate(profile=profile)

    def perform_update(self, serializer):
        active = serializer.validated_data.pop("is_active", None)
        profile = serializer.save()
        if active:
            services.icp_profile_activate(profile=profile)
        elif active is False and profile.is_active:
            IcpProfile.objects.filter(pk=profile.pk).update(is_active=False)
            profile.is_active = False


class IcpCriterionViewSet(viewsets.ModelViewSet):
    serializer_class = IcpCriterionSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    filterset_fields = ["profile", "attribute"]
    filterset_class = None

    def get_queryset(self):
        return IcpCriterion.objects.all()


class IcpPersonaViewSet(viewsets.ModelViewSet):
    """The ICP's personas: function × seniority (empty: any) and the contact fit (weight) a
    contact with it gets; admins edit, and every account is rescored."""

    serializer_class = IcpPersonaSerializer
    permission_classes = [ReadForRolesWriteForAdmins]
    filterset_fields = ["profile", "job_function", "seniority"]
    filterset_class = None

    def get_queryset(self):
        return IcpPersona.objects.all()

    def perform_create(self, serializer):
        serializer.save()
        services.accounts_rescore_all()

    def perform_update(self, serializer):
        serializer.save()
        services.accounts_rescore_all()

    def perform_destroy(self, instance):
        instance.delete()
        services.accounts_rescore_all()


class IcpSuggestionViewSet(viewsets.GenericViewSet):
    """ICP discovery: attribute values shared by customers with two or more renewal cycles
    more than by other accounts, ranked by lift."""

    permission_classes = [ReadForRolesWriteForAdmins]
    serializer_class = IcpSuggestionSerializer
    queryset = IcpProfile.objects.none()  # for the schema generator; the list is computed
    pagination_class = None
    filterset_class = None

    @extend_schema(responses={200: IcpSuggestionSerializer(many=True)})
    def list(self, request):
        return Response(IcpSuggestionSerializer(selectors.icp_suggestions(), many=True).data)

    @extend_schema(request=IcpSuggestionApplySerializer,
                   responses={201: IcpCriterionSerializer})
    @action(detail=False, methods=["post"])
    def apply(self, request):
        """Admins: add a suggestion as a criterion of the active ICP profile."""
        form = IcpSuggestionApplySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        criterion = services.icp_suggestion_apply(**form.validated_data)
        return Response(IcpCriterionSerializer(criterion).data, status=status.HTTP_201_CREATED)


class SegmentViewSet(viewsets.ModelViewSet):
    """Saved account filters with their current count; `GET {id}/accounts/` lists them."""

    serializer_class = SegmentSerializer
    permission_classes = [ReadForRolesWriteForMarketers]
    filterset_class = None

    def get_queryset(self):
        return selectors.segment_list()

    def _with_counts(self, segments):
        counts = selectors.segment_counts(segments)
        for segment in segments:
            segment.account_count = counts.get(segment.pk)
        return segments

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            self.get_serializer(self._with_counts(list(page)), many=True).data)

    def retrieve(self, request, *args, **kwargs):
        segment = self._with_counts([self.get_object()])[0]
        return Response(self.get_serializer(segment).data)

    def perform_create(self, serializer):
        segment = serializer.save(created_by=self.request.user)
        self._with_counts([segment])

    def perform_update(self, serializer):
        self._with_counts([serializer.save()])

    @extend_schema(responses={200: AccountSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def accounts(self, request, pk=None):
        segment = self.get_object()
        queryset = selectors.segment_accounts(segment=segment, user=request.user)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AccountSerializer(page, many=True).data)
