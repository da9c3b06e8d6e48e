"""Signing in: the login and logout pages, the API token, the API schema and its docs."""

from django.contrib.auth import views
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token


class LoginView(views.LoginView):
    template_name = "abmcrm/login.html"
    redirect_authenticated_user = True


class LogoutView(views.LogoutView):
    next_page = "abmcrm-login"


page_urlpatterns = [
    path("login/", LoginView.as_view(), name="abmcrm-login"),
    path("logout/", LogoutView.as_view(), name="abmcrm-logout"),
]

api_urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
