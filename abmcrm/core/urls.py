"""The core's API (include it under `api/v1/`, before the apps' own): the token, its
revocation, the schema and its docs page, and CSV imports."""

from rest_framework.routers import DefaultRouter

from . import views
from .auth_views import api_urlpatterns

router = DefaultRouter()
router.include_root_view = False
router.register("imports", views.ImportViewSet, basename="import")

urlpatterns = [*api_urlpatterns, *router.urls]
