"""The core's pages: logging in and out (`abmcrm-login`, `abmcrm-logout`) and CSV imports."""

from django.urls import path

from . import pages
from .auth_views import page_urlpatterns

urlpatterns = [
    *page_urlpatterns,
    path("imports/", pages.import_list, name="imports"),
    path("imports/<int:pk>/", pages.import_detail, name="import-page"),
]
