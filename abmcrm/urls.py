"""The reference project's URLs: the Django admin and abmcrm's one include."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

# The admin says whose it is (Django's default reads "Django administration"); "View site"
# leads back to the pages.
admin.site.site_header = _("abmcrm administration")
admin.site.site_title = _("abmcrm admin")
admin.site.index_title = _("Accounts, tiers, programs and the funnel")
admin.site.site_url = "/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("abmcrm.urls_plugin")),
]
