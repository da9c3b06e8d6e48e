from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("funnel/leads", views.LeadViewSet, basename="funnel-lead")
router.register("funnel/transitions", views.TransitionViewSet, basename="funnel-transition")
router.register("funnel/quotas", views.QuotaViewSet, basename="funnel-quota")

urlpatterns = [
    path("funnel/report/", views.ReportView.as_view(), name="funnel-report"),
    *router.urls,
]
