"""Signing in: the login and logout pages, API tokens (issue and revoke), the API schema and
its docs page."""

from django.conf import settings as django_settings
from django.contrib.auth import views
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.templatetags.static import static
from django.urls import path
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import throttling, tokens
from .api.authentication import TokenAuthentication
from .api.parsers import PARSER_CLASSES
from .auth import login_redirect_url, login_url
from .conf import settings


class LoginView(views.LoginView):
    """Django's login page, throttled like the token endpoint: after too many failed log-ins
    for a username or from an address it answers 429 (with Retry-After) and says when to try
    again, without checking the password."""

    template_name = "abmcrm/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = throttling.login_wait(username=request.POST.get("username", ""),
                                     address=throttling.client_address(request))
        if wait is None:
            return super().post(request, *args, **kwargs)
        minutes = max(1, -(-wait // 60))
        context = self.get_context_data(throttled=ngettext(
            "Too many failed log-ins. Try again in %(minutes)d minute.",
            "Too many failed log-ins. Try again in %(minutes)d minutes.", minutes,
        ) % {"minutes": minutes})
        response = self.render_to_response(context, status=status.HTTP_429_TOO_MANY_REQUESTS)
        response["Retry-After"] = str(wait)
        return response

    def form_invalid(self, form):
        if form.non_field_errors():  # a wrong password, an unknown or inactive user
            throttling.login_failed(username=form.data.get("username", ""),
                                    address=throttling.client_address(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        throttling.login_succeeded(username=form.get_user().get_username())
        return super().form_valid(form)

    def get_default_redirect_url(self):
        return login_redirect_url()


class LogoutView(views.LogoutView):
    """Django's logout, landing on the host's LOGOUT_REDIRECT_URL if it set one, else on the
    login page."""

    def get_default_redirect_url(self):
        if django_settings.LOGOUT_REDIRECT_URL:
            return resolve_url(django_settings.LOGOUT_REDIRECT_URL)
        return login_url()


class TokenObtainView(APIView):
    """`POST {username, password}` → `{"token", "expiry"}`: a new token, valid for
    ABMCRM_TOKEN_TTL. Failed attempts are throttled per username and per address."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [throttling.LoginFailureThrottle]
    parser_classes = PARSER_CLASSES  # 400 for a body it can't take, also without settings
    serializer_class = AuthTokenSerializer

    @extend_schema(
        operation_id="auth_token_create",
        request=AuthTokenSerializer,
        responses={200: inline_serializer("Token", {
            "token": serializers.CharField(),
            "expiry": serializers.DateTimeField(allow_null=True),
        }), 400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Too many failed log-ins; see Retry-After.")},
    )
    def post(self, request):
        form = AuthTokenSerializer(data=request.data, context={"request": request})
        if not form.is_valid():
            if "non_field_errors" in form.errors:  # the credentials were refused
                throttling.login_failed(username=throttling.request_username(request),
                                        address=throttling.client_address(request))
            raise serializers.ValidationError(form.errors)
        user = form.validated_data["user"]
        throttling.login_succeeded(username=user.get_username())
        instance, token = tokens.token_issue(user=user)
        return Response({"token": token, "expiry": instance.expiry})


class TokenRevokeSerializer(serializers.Serializer):
    all = serializers.BooleanField(
        required=False, default=False,
        help_text="Revoke every token of the caller, not only the one this request used.")


class TokenRevokeView(APIView):
    """`POST` with `Authorization: Token …` revokes that token (204); with `{"all": true}`
    every token of its user."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = TokenRevokeSerializer

    @extend_schema(operation_id="auth_token_revoke", request=TokenRevokeSerializer,
                   responses={204: None})
    def post(self, request):
        form = TokenRevokeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if form.validated_data["all"]:
            tokens.tokens_revoke_all(user=request.user)
        else:
            tokens.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _docs_open(request):
    return settings.ABMCRM_API_DOCS_PUBLIC or request.user.is_authenticated


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: for signed-in users unless ABMCRM_API_DOCS_PUBLIC."""

    def get_permissions(self):
        return [AllowAny() if settings.ABMCRM_API_DOCS_PUBLIC else IsAuthenticated()]


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI without inline script (its set-up script is a second request, so the
    Content-Security-Policy needs no 'unsafe-inline'), from the sidecar's static files (no
    CDN), with a link back to the app. Anonymous visitors are sent to log in, unless
    ABMCRM_API_DOCS_PUBLIC."""

    permission_classes = [AllowAny]
    template_name = "abmcrm/api_docs.html"
    url_name = "api-schema"
    title = "abmcrm API"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not _docs_open(request):
            return redirect_to_login(request.get_full_path(), login_url())
        return super().get(request, *args, **kwargs)

    @staticmethod
    def _swagger_ui_resource(filename):
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


page_urlpatterns = [
    path("login/", LoginView.as_view(), name="abmcrm-login"),
    path("logout/", LogoutView.as_view(), name="abmcrm-logout"),
]

api_urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("auth/token/revoke/", TokenRevokeView.as_view(), name="api-token-revoke"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(), name="api-docs"),
]
