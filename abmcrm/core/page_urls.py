"""The core's pages: logging in and out (`abmcrm-login`, `abmcrm-logout`)."""

from .auth_views import page_urlpatterns as urlpatterns

__all__ = ["urlpatterns"]
