"""The set-up checks (abmcrm/core/checks.py): each fires with its fix, and all are quiet on
a project set up as documented (the reference settings; tests/install/ runs them on a fresh
host project too)."""

import subprocess
import sys

import pytest
from django.core import checks as django_checks
from django.core.management import call_command
from django.test import override_settings

from abmcrm.core import celery_app, checks
from tests.conftest import ROOT

REFERENCE_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "django.contrib.staticfiles", "django.contrib.humanize", "rest_framework",
                  "knox", "django_filters",
                  "drf_spectacular", "drf_spectacular_sidecar", "abmcrm.core", "tiers",
                  "programs", "funnel"]


def ids(found):
    return [problem.id for problem in found]


def run_all():
    return [problem for problem in django_checks.run_checks(include_deployment_checks=False)
            if problem.id.startswith("abmcrm.")]


def test_quiet_when_set_up_as_documented(settings):
    settings.CACHES = {"default": {  # as the reference settings in production (not reached)
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1"}}
    assert run_all() == []
    call_command("check", "--fail-level", "WARNING")


class TestInstalledApps:
    def test_reference_order_is_quiet(self):
        assert checks.installed_apps_problems(REFERENCE_APPS) == []

    @pytest.mark.parametrize("missing", ["rest_framework", "django_filters", "drf_spectacular",
                                         "drf_spectacular_sidecar", "knox", "abmcrm.core",
                                         "django.contrib.sessions", "django.contrib.humanize"])
    def test_a_missing_app(self, missing):
        found = checks.installed_apps_problems([a for a in REFERENCE_APPS if a != missing])
        assert ids(found) == ["abmcrm.E001"]
        assert repr(missing) in found[0].msg and f"Add {missing!r}" in found[0].hint

    def test_missing_core_says_to_put_it_before_tiers(self):
        found = checks.installed_apps_problems([a for a in REFERENCE_APPS if a != "abmcrm.core"])
        assert found[0].hint == "Add 'abmcrm.core' to INSTALLED_APPS, before 'tiers'."

    def test_an_app_without_the_one_it_builds_on(self):
        apps = [a for a in REFERENCE_APPS if a != "tiers"]
        found = checks.installed_apps_problems(apps)
        assert ids(found) == ["abmcrm.E001"]
        assert "(programs and funnel build on it)" in found[0].msg
        assert found[0].hint == "Add 'tiers' to INSTALLED_APPS, before 'programs'."

    def test_tiers_alone_is_fine(self):
        apps = [a for a in REFERENCE_APPS if a not in ("programs", "funnel")]
        assert checks.installed_apps_problems(apps) == []

    @pytest.mark.parametrize("order", [["tiers", "abmcrm.core", "programs", "funnel"],
                                       ["abmcrm.core", "tiers", "funnel", "programs"]])
    def test_wrong_order(self, order):
        apps = [a for a in REFERENCE_APPS if a not in order] + order
        found = checks.installed_apps_problems(apps)
        assert ids(found) == ["abmcrm.E002"]
        assert "abmcrm.core, tiers, programs, funnel" in found[0].hint


class TestContextProcessor:
    def test_missing(self, settings):
        backend = {**settings.TEMPLATES[0], "OPTIONS": {"context_processors": [
            "django.template.context_processors.request"]}}
        settings.TEMPLATES = [backend]
        found = checks.context_processor()
        assert ids(found) == ["abmcrm.E003"]
        assert "abmcrm.core.context_processors.abm" in found[0].hint

    def test_quiet(self):
        assert checks.context_processor() == []


def rest_framework(settings, **changes):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **changes}
    return checks.rest_framework_settings()


class TestRestFramework:
    def test_quiet(self):
        assert checks.rest_framework_settings() == []

    def test_drfs_own_token_authentication(self, settings):
        found = rest_framework(settings, DEFAULT_AUTHENTICATION_CLASSES=[
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication"])
        assert ids(found) == ["abmcrm.E004"]
        assert "abmcrm.core.api.authentication.TokenAuthentication" in found[0].hint

    def test_no_session_authentication(self, settings):
        found = rest_framework(settings, DEFAULT_AUTHENTICATION_CLASSES=[
            "abmcrm.core.api.authentication.TokenAuthentication"])
        assert ids(found) == ["abmcrm.E004"] and "SessionAuthentication" in found[0].hint

    def test_an_authentication_class_that_does_not_import(self, settings):
        found = rest_framework(settings, DEFAULT_AUTHENTICATION_CLASSES=["nowhere.Auth"])
        assert ids(found) == ["abmcrm.E004"] and "cannot be imported" in found[0].msg

    def test_pagination(self, settings):
        found = rest_framework(settings, DEFAULT_PAGINATION_CLASS=None)
        assert ids(found) == ["abmcrm.E005"]
        assert "abmcrm.core.api.pagination.PageNumberPagination" in found[0].hint

    def test_pagination_subclass_and_old_path_are_fine(self, settings):
        with pytest.warns(DeprecationWarning):
            assert rest_framework(settings, DEFAULT_PAGINATION_CLASS=(
                "tiers.pagination.PageNumberPagination")) == []

    def test_filter_backends(self, settings):
        found = rest_framework(settings, DEFAULT_FILTER_BACKENDS=[
            "rest_framework.filters.OrderingFilter"])
        assert ids(found) == ["abmcrm.E006"] and "DjangoFilterBackend" in found[0].hint

    def test_schema_class(self, settings):
        found = rest_framework(settings, DEFAULT_SCHEMA_CLASS=(
            "rest_framework.schemas.openapi.AutoSchema"))
        assert ids(found) == ["abmcrm.E007"]

    def test_exception_handler(self, settings):
        found = rest_framework(settings, EXCEPTION_HANDLER=(
            "rest_framework.views.exception_handler"))
        assert ids(found) == ["abmcrm.E008"]
        assert "abmcrm.core.api.errors.api_exception_handler" in found[0].hint

    def test_nothing_set_at_all(self, settings):
        settings.REST_FRAMEWORK = {}
        assert ids(checks.rest_framework_settings()) == [
            "abmcrm.E004", "abmcrm.E005", "abmcrm.E006", "abmcrm.E007", "abmcrm.E008"]


class TestLoginPage:
    def test_quiet_with_abmcrms_login_page_routed(self):
        assert checks.login_page() == []

    def test_no_login_page_at_all(self, settings, tmp_path, monkeypatch):
        (tmp_path / "pages_only.py").write_text(
            "from django.urls import include, path\n"
            "urlpatterns = [path('', include('tiers.page_urls'))]\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        settings.ROOT_URLCONF = "pages_only"
        settings.LOGIN_URL = "/accounts/login/"
        found = checks.login_page()
        assert ids(found) == ["abmcrm.E009"] and "abmcrm.core.page_urls" in found[0].hint
        settings.LOGIN_URL = "/sso/"
        assert checks.login_page() == []


class TestCeleryBroker:
    @pytest.fixture
    def unconfigured(self, monkeypatch):
        """abmcrm's own app with no broker (as a host without a Celery app or a broker)."""
        app = celery_app.configured_app()
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        monkeypatch.setitem(app.conf, "broker_url", None)
        monkeypatch.setitem(app.conf, "broker_transport", celery_app.UNCONFIGURED_TRANSPORT)
        monkeypatch.setitem(app.conf, "task_always_eager", False)
        return app

    def test_quiet_with_a_broker(self):
        assert checks.celery_broker() == []

    def test_error_outside_debug(self, unconfigured, settings):
        settings.DEBUG = False
        found = checks.celery_broker()
        assert ids(found) == ["abmcrm.E010"]
        assert "CELERY_BROKER_URL" in found[0].hint

    def test_warning_in_debug(self, unconfigured, settings):
        settings.DEBUG = True
        assert ids(checks.celery_broker()) == ["abmcrm.W010"]

    def test_quiet_when_tasks_run_eagerly(self, unconfigured, monkeypatch):
        monkeypatch.setitem(unconfigured.conf, "task_always_eager", True)
        assert checks.celery_broker() == []

    def test_broker_from_the_environment_counts(self, unconfigured, monkeypatch):
        monkeypatch.setitem(unconfigured.conf, "broker_transport", None)
        monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
        assert checks.celery_broker() == []


class TestBaseTemplate:
    @pytest.fixture
    def templates(self, settings, tmp_path):
        settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]

        def write(name, text):
            (tmp_path / name).write_text(text)
            settings.ABMCRM_BASE_TEMPLATE = name

        return write

    def test_default_is_quiet(self):
        assert checks.base_template() == []

    def test_missing(self, settings):
        settings.ABMCRM_BASE_TEMPLATE = "host/nope.html"
        found = checks.base_template()
        assert ids(found) == ["abmcrm.E011"] and "does not exist" in found[0].msg

    def test_broken(self, templates):
        templates("broken.html", "{% block content %}")
        assert ids(checks.base_template()) == ["abmcrm.E011"]

    def test_no_content_block(self, templates):
        templates("bare.html", '{% include "abmcrm/head.html" %}{% block title %}{% endblock %}'
                               "{% block extra_head %}{% endblock %}<main></main>")
        found = checks.base_template()
        assert ids(found) == ["abmcrm.E012"] and "block content" in found[0].msg

    def test_no_title_nor_stylesheet(self, templates):
        templates("plain.html", "<main>{% block content %}{% endblock %}</main>")
        found = checks.base_template()
        assert ids(found) == ["abmcrm.W012", "abmcrm.W013"]
        assert '"title" or "extra_head"' in found[0].msg
        assert "head.html" in found[1].hint

    def test_host_base_as_documented_through_its_own_parent(self, templates, tmp_path):
        (tmp_path / "partials").mkdir()
        templates("partials/head.html", '{% include "abmcrm/head.html" %}')
        templates("layout.html", "<head>{% include 'partials/head.html' %}"
                                 "{% block extra_head %}{% endblock %}</head>"
                                 "<title>{% block title %}{% endblock %}</title>"
                                 "{% block body %}{% endblock %}")
        templates("site.html", '{% extends "layout.html" %}'
                               "{% block body %}<main>{% block content %}{% endblock %}"
                               "</main>{% endblock %}")
        assert checks.base_template() == []


class TestThrottleCache:
    def test_quiet_in_debug_and_with_a_shared_cache(self, settings):
        settings.DEBUG = True
        assert checks.throttle_cache() == []
        settings.DEBUG = False
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1"}}
        assert checks.throttle_cache() == []

    def test_per_process_cache_outside_debug(self, settings):
        settings.DEBUG = False
        found = checks.throttle_cache()  # the tests' own local-memory cache
        assert ids(found) == ["abmcrm.W014"] and "RedisCache" in found[0].hint

    def test_dummy_cache_outside_debug(self, settings):
        settings.DEBUG = False
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
                           "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                      "LOCATION": "abmcrm_cache"}}
        assert ids(checks.throttle_cache()) == ["abmcrm.E015"]
        settings.ABMCRM_THROTTLE_CACHE = "shared"
        assert checks.throttle_cache() == []

    def test_a_cache_that_is_not_there(self, settings):
        settings.DEBUG = True
        settings.ABMCRM_THROTTLE_CACHE = "throttles"
        found = checks.throttle_cache()
        assert ids(found) == ["abmcrm.E015"] and "not in CACHES" in found[0].msg


class TestContentSecurityPolicy:
    def test_quiet_with_django_csp(self):
        assert checks.content_security_policy() == []

    def test_missing(self, settings):
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "csp" not in m]
        found = checks.content_security_policy()
        assert ids(found) == ["abmcrm.W016"] and "csp.middleware.CSPMiddleware" in found[0].hint


@override_settings()
def test_manage_py_check_reports_with_the_fix(tmp_path):
    """Through `manage.py check` itself, as a host sees it: a settings module missing the
    context processor and with Django's own exception handler."""
    (tmp_path / "broken_settings.py").write_text(
        "from tests.settings import *  # noqa\n"
        "TEMPLATES = [{**TEMPLATES[0], 'OPTIONS': {'context_processors': []}}]\n"
        "REST_FRAMEWORK = {**REST_FRAMEWORK, 'EXCEPTION_HANDLER': "
        "'rest_framework.views.exception_handler'}\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "broken_settings",
             "PYTHONPATH": f"{tmp_path}:{ROOT}", "ABMCRM_VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 1
    assert "(abmcrm.E003) abmcrm's context processor is not in TEMPLATES" in result.stderr
    assert 'HINT: Add "abmcrm.core.context_processors.abm"' in result.stderr
    assert "(abmcrm.E008)" in result.stderr
