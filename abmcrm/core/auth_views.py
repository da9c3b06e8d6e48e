"""Signing in: the login and logout pages, the API token, the API schema and its docs."""

from django.contrib.auth import views
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken

from .api.parsers import PARSER_CLASSES


class LoginView(views.LoginView):
    template_name = "abmcrm/login.html"
    redirect_authenticated_user = True


class LogoutView(views.LogoutView):
    next_page = "abmcrm-login"


class TokenView(ObtainAuthToken):
    """`POST auth/token/` with username and password: the user's API token. DRF's view names
    its own parsers, so the settings' JSON parser (400 for a body it can't take) is set
    here too."""

    parser_classes = PARSER_CLASSES


page_urlpatterns = [
    path("login/", LoginView.as_view(), name="abmcrm-login"),
    path("logout/", LogoutView.as_view(), name="abmcrm-logout"),
]

api_urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
