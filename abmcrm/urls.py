"""The reference project's URLs: the Django admin and abmcrm's one include."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("abmcrm.urls_plugin")),
]
