from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("plays", views.PlayViewSet, basename="play")

urlpatterns = [
    path("notifications/preferences/", views.NotificationPreferenceView.as_view(),
         name="notification-preferences-api"),
    *router.urls,
]
