from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("opportunity-stages", views.OpportunityStageViewSet,
                basename="opportunity-stage")

urlpatterns = [
    # Next to (not inside) the programs app's campaign endpoints: their detail route takes
    # numeric ids only, so these paths never reach it.
    path("campaigns/attribution/", views.AttributionView.as_view(), name="campaign-attribution"),
    path("campaigns/<int:pk>/roi/", views.CampaignRoiView.as_view(), name="campaign-roi"),
    *router.urls,
]
