from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
# Before "tiers": its detail route would take "recompute" for a tier id.
router.register("tiers/recompute", views.RecomputeJobViewSet, basename="tier-recompute")
router.register("tiers", views.TierViewSet, basename="tier")
router.register("tier-rules", views.TierRuleViewSet, basename="tier-rule")
router.register("intent-signals", views.IntentSignalViewSet, basename="intent-signal")
router.register("engagement-events", views.EngagementEventViewSet, basename="engagement-event")
router.register("engagement-kinds", views.EngagementKindViewSet, basename="engagement-kind")
router.register("icp/profiles", views.IcpProfileViewSet, basename="icp-profile")
router.register("icp/criteria", views.IcpCriterionViewSet, basename="icp-criterion")
router.register("icp/personas", views.IcpPersonaViewSet, basename="icp-persona")
router.register("icp/suggestions", views.IcpSuggestionViewSet, basename="icp-suggestion")
router.register("segments", views.SegmentViewSet, basename="segment")

urlpatterns = router.urls
