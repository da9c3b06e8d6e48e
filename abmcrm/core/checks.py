"""System checks (`manage.py check`): the set-up abmcrm needs, each problem said with its fix
(docs/guide/install.md has the whole set-up).

| id | problem |
|----|---------|
| abmcrm.W001 | a renamed ABMCRM_* setting is still set |
| abmcrm.E001 | an app abmcrm needs is missing from INSTALLED_APPS |
| abmcrm.E002 | abmcrm's apps are out of order in INSTALLED_APPS |
| abmcrm.E003 | the context processor is missing |
| abmcrm.E004–E008 | a REST_FRAMEWORK setting the API relies on is missing or different |
| abmcrm.E009 | no login page: abmcrm's is not routed and LOGIN_URL is Django's default |
| abmcrm.E010 / W010 | no Celery broker configured (an error outside DEBUG) |
| abmcrm.E011–E012, W012–W013 | ABMCRM_BASE_TEMPLATE: missing, no block, no stylesheet |
| abmcrm.W014 / E015 | the throttles' cache is not shared, keeps nothing, or does not exist |
| abmcrm.W016 | no Content-Security-Policy middleware |
"""

from django.apps import apps
from django.conf import settings as django_settings
from django.core import checks
from django.utils.module_loading import import_string

from .conf import settings

# Apps abmcrm needs, each with what it is for.
REQUIRED_APPS = {
    "django.contrib.auth": "users and permissions",
    "django.contrib.contenttypes": "permissions",
    "django.contrib.sessions": "logging in to the pages",
    "django.contrib.messages": "the pages' messages",
    "django.contrib.staticfiles": "the stylesheet and the API docs' assets",
    "django.contrib.humanize": "the pages' dates (\"approved 3 days ago\")",
    "rest_framework": "the API",
    "django_filters": "the API's filters",
    "drf_spectacular": "the API schema",
    "drf_spectacular_sidecar": "the API docs page's assets, served by this site",
    "knox": "API tokens",
    "abmcrm.core": "what every abmcrm app builds on",
}
# Each app after the ones it builds on.
ABMCRM_APPS = ["abmcrm.core", "tiers", "programs", "funnel", "pipeline", "inmarket", "webhooks",
               "plays"]
BUILDS_ON = {"programs": ["tiers"], "funnel": ["tiers", "programs"],
             "pipeline": ["tiers", "programs", "funnel"],
             "inmarket": ["tiers", "programs", "funnel", "pipeline"],
             "webhooks": ["tiers", "programs", "funnel", "pipeline"],
             "plays": ["tiers", "programs", "funnel", "pipeline", "webhooks"]}

CONTEXT_PROCESSOR = "abmcrm.core.context_processors.abm"
TOKEN_AUTHENTICATION = "abmcrm.core.api.authentication.TokenAuthentication"
SESSION_AUTHENTICATION = "rest_framework.authentication.SessionAuthentication"
PAGINATION = "abmcrm.core.api.pagination.PageNumberPagination"
FILTER_BACKENDS = ["django_filters.rest_framework.DjangoFilterBackend",
                   "rest_framework.filters.OrderingFilter"]
SCHEMA_CLASS = "drf_spectacular.openapi.AutoSchema"
EXCEPTION_HANDLER = "abmcrm.core.api.errors.api_exception_handler"
CSP_MIDDLEWARE = ["csp.middleware.CSPMiddleware",
                  "django.middleware.csp.ContentSecurityPolicyMiddleware"]  # Django 6+
REQUIRED_BLOCKS = ["content"]
OPTIONAL_BLOCKS = ["title", "extra_head"]
HEAD_TEMPLATE = "abmcrm/head.html"


@checks.register()
def deprecated_settings(app_configs=None, **kwargs):
    """Renamed `ABMCRM_*` settings the host still sets (they work, with a warning)."""
    found = []
    for config in apps.get_app_configs():
        try:
            app_settings = import_string(f"{config.name}.conf.settings")
        except ImportError:
            continue
        for old, new in getattr(app_settings, "deprecated_in_use", list)():
            found.append(checks.Warning(
                f"The setting {old} is deprecated.", hint=f"Rename it {new}.",
                obj=config.name, id="abmcrm.W001"))
    return found


def installed_apps_problems(names):
    """E001/E002 for the app names of INSTALLED_APPS, in order."""
    found, position = [], {name: index for index, name in enumerate(names)}
    needed = dict(REQUIRED_APPS)
    for base in ABMCRM_APPS:
        builders = [app for app, bases in BUILDS_ON.items() if base in bases and app in position]
        if builders:
            needed[base] = " and ".join(builders) + (" build" if len(builders) > 1 else
                                                       " builds") + " on it"
    for app, reason in needed.items():
        if app not in position:
            found.append(checks.Error(
                f"INSTALLED_APPS lacks {app!r} ({reason}).",
                hint=f"Add {app!r} to INSTALLED_APPS" + (
                    f", before {_first_after(app, position)!r}."
                    if _first_after(app, position) else "."),
                id="abmcrm.E001"))
    ours = [app for app in ABMCRM_APPS if app in position]
    if ours != sorted(ours, key=position.get):
        found.append(checks.Error(
            "abmcrm's apps are out of order in INSTALLED_APPS: "
            + ", ".join(sorted(ours, key=position.get)) + ".",
            hint="List them in the order they build on each other: "
                 + ", ".join(ours) + " (each app's templates, roles and demo data "
                 "extend the ones before it).",
            id="abmcrm.E002"))
    return found


def _first_after(app, position):
    """The installed abmcrm app that `app` must come before, if any."""
    if app not in ABMCRM_APPS:
        return None
    later = [name for name in ABMCRM_APPS[ABMCRM_APPS.index(app) + 1:] if name in position]
    return min(later, key=position.get) if later else None


@checks.register()
def installed_apps(app_configs=None, **kwargs):
    return installed_apps_problems([config.name for config in apps.get_app_configs()])


@checks.register(checks.Tags.templates)
def context_processor(app_configs=None, **kwargs):
    for backend in django_settings.TEMPLATES:
        if backend["BACKEND"] == "django.template.backends.django.DjangoTemplates" and \
                CONTEXT_PROCESSOR in backend.get("OPTIONS", {}).get("context_processors", []):
            return []
    return [checks.Error(
        "abmcrm's context processor is not in TEMPLATES: the pages would have no "
        "navigation, no role and not the configured base template.",
        hint=f'Add "{CONTEXT_PROCESSOR}" to TEMPLATES[0]["OPTIONS"]["context_processors"].',
        id="abmcrm.E003")]


def _resolved(name):
    """A REST framework setting's value, imported, or the ImportError saying why not."""
    from rest_framework.settings import api_settings

    try:
        return getattr(api_settings, name)
    except ImportError as exc:
        return exc


def _is_a(value, path):
    cls = import_string(path)
    return isinstance(value, type) and issubclass(value, cls)


@checks.register()
def rest_framework_settings(app_configs=None, **kwargs):
    """The REST_FRAMEWORK settings abmcrm's API relies on (the views set their own
    permission classes, so those are free)."""
    found = []

    def problem(setting, what, fix, check_id):
        found.append(checks.Error(
            f'REST_FRAMEWORK["{setting}"] {what}', hint=fix, id=check_id))

    authentication = _resolved("DEFAULT_AUTHENTICATION_CLASSES")
    classes = [] if isinstance(authentication, ImportError) else authentication
    missing = [path for path in (TOKEN_AUTHENTICATION, SESSION_AUTHENTICATION)
               if not any(_is_a(cls, path) for cls in classes)]
    if isinstance(authentication, ImportError) or missing:
        problem("DEFAULT_AUTHENTICATION_CLASSES",
                f"cannot be imported: {authentication}"
                if isinstance(authentication, ImportError) else
                f"lacks {', '.join(missing)} (API tokens, and the signed-in browser for the "
                "API docs).",
                "List " + " and ".join(f'"{path}"' for path in missing or
                                       (TOKEN_AUTHENTICATION, SESSION_AUTHENTICATION))
                + " in it (the token first, so a bad token gets a 401).", "abmcrm.E004")

    pagination = _resolved("DEFAULT_PAGINATION_CLASS")
    if not _is_a(pagination, PAGINATION):
        problem("DEFAULT_PAGINATION_CLASS",
                "is not abmcrm's: the API's lists would not be paginated as documented "
                "({count, next, previous, results}, page_size up to 500).",
                f'Set it to "{PAGINATION}" (or a subclass).', "abmcrm.E005")

    backends = _resolved("DEFAULT_FILTER_BACKENDS")
    backends = [] if isinstance(backends, ImportError) else backends
    missing = [path for path in FILTER_BACKENDS if not any(_is_a(b, path) for b in backends)]
    if missing:
        problem("DEFAULT_FILTER_BACKENDS",
                f"lacks {', '.join(missing)}: the API's filters and ordering would be "
                "ignored.", "Add " + " and ".join(f'"{path}"' for path in missing) + ".",
                "abmcrm.E006")

    schema = _resolved("DEFAULT_SCHEMA_CLASS")
    if not _is_a(schema, SCHEMA_CLASS):
        problem("DEFAULT_SCHEMA_CLASS",
                "is not drf-spectacular's: the API schema and docs cannot be generated.",
                f'Set it to "{SCHEMA_CLASS}".', "abmcrm.E007")

    handler = _resolved("EXCEPTION_HANDLER")
    if handler is not import_string(EXCEPTION_HANDLER):
        problem("EXCEPTION_HANDLER",
                "is not abmcrm's: refusals would lose their documented error bodies and "
                "codes (some would be 500s).",
                f'Set it to "{EXCEPTION_HANDLER}" (a handler of your own that wraps it: '
                'silence abmcrm.E008 in SILENCED_SYSTEM_CHECKS).', "abmcrm.E008")
    return found


@checks.register(checks.Tags.urls)
def login_page(app_configs=None, **kwargs):
    """abmcrm's pages send anonymous users to abmcrm's login page unless the host set a
    LOGIN_URL (auth.login_url): one of the two must exist."""
    from django.conf import global_settings
    from django.urls import NoReverseMatch, reverse

    if django_settings.LOGIN_URL != global_settings.LOGIN_URL:
        return []
    try:
        reverse("abmcrm-login")
    except NoReverseMatch:
        return [checks.Error(
            "abmcrm's login page is not routed and LOGIN_URL is Django's default "
            "(/accounts/login/, which falls among abmcrm's accounts/ pages): anonymous "
            "users would have nowhere to log in.",
            hint='Include "abmcrm.urls_plugin" (or "abmcrm.core.page_urls"), or set LOGIN_URL '
                 "to your own login page.", id="abmcrm.E009")]
    return []


@checks.register()
def celery_broker(app_configs=None, **kwargs):
    """abmcrm queues its work: without a broker nothing is imported, recomputed, sent or
    mailed (abmcrm's own app then refuses to publish: see celery_app.py)."""
    from . import celery_app

    app = celery_app.configured_app()
    if app is None or app.conf.task_always_eager or celery_app.broker_configured(app):
        return []
    message = ("No Celery broker is configured: abmcrm's imports, recomputes, fulfillment "
               "and e-mails would never run" + (
                   "." if celery_app.is_abmcrm_app(app) else
                   f" (Celery app {app.main!r} would try its built-in default, "
                   "amqp://guest@localhost//)."))
    hint = ('Set CELERY_BROKER_URL (e.g. "redis://localhost:6379/0") in the settings or the '
            "environment, and run a worker (docs/guide/install.md#celery).")
    if django_settings.DEBUG:
        return [checks.Warning(message, hint=hint, id="abmcrm.W010")]
    return [checks.Error(message, hint=hint, id="abmcrm.E010")]


def _constant_name(expression):
    """The template name an {% extends %} or {% include %} names literally, else None."""
    return expression.var if isinstance(expression.var, str) and not expression.filters \
        else None


def _template_facts(template, seen=None):
    """(blocks, included template names) of a Django template and the templates it extends
    or includes by a literal name."""
    from django.template.loader_tags import BlockNode, ExtendsNode, IncludeNode

    seen = set() if seen is None else seen
    if template.origin.name in seen:
        return set(), set()
    seen.add(template.origin.name)
    blocks = {node.name for node in template.nodelist.get_nodes_by_type(BlockNode)}
    includes = set()
    related = []
    for node in template.nodelist.get_nodes_by_type(ExtendsNode):
        related.append(_constant_name(node.parent_name))
    for node in template.nodelist.get_nodes_by_type(IncludeNode):
        name = _constant_name(node.template)
        includes.add(name)
        related.append(name)
    for name in filter(None, related):
        try:
            other = template.engine.get_template(name)
        except Exception:  # noqa: BLE001 - a broken related template is the host's own check
            continue
        more_blocks, more_includes = _template_facts(other, seen)
        blocks |= more_blocks
        includes |= more_includes
    return blocks, includes


@checks.register(checks.Tags.templates)
def base_template(app_configs=None, **kwargs):
    """ABMCRM_BASE_TEMPLATE: found, with the blocks abmcrm's pages fill, and abmcrm's
    stylesheet."""
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, loader

    name = settings.ABMCRM_BASE_TEMPLATE
    hint = ('Point ABMCRM_BASE_TEMPLATE at a template with the blocks "title", "extra_head" '
            'and "content" that has {% include "abmcrm/head.html" %} in its <head>, or leave '
            'it unset for abmcrm\'s own "abmcrm/base.html" (docs/guide/install.md#templates).')
    try:
        template = loader.get_template(name)
    except TemplateDoesNotExist:
        return [checks.Error(f"ABMCRM_BASE_TEMPLATE {name!r} does not exist: every abmcrm "
                             "page would fail.", hint=hint, id="abmcrm.E011")]
    except TemplateSyntaxError as exc:
        return [checks.Error(f"ABMCRM_BASE_TEMPLATE {name!r} does not compile: {exc}",
                             hint=hint, id="abmcrm.E011")]
    template = getattr(template, "template", None)
    if template is None or not hasattr(template, "nodelist"):
        return []  # not a Django template (Jinja2…): the host knows what it renders
    blocks, includes = _template_facts(template)
    found = []
    missing = [block for block in REQUIRED_BLOCKS if block not in blocks]
    if missing:
        found.append(checks.Error(
            f"ABMCRM_BASE_TEMPLATE {name!r} has no {{% block content %}}: abmcrm's pages "
            "would render empty.", hint=hint, id="abmcrm.E012"))
    missing = [block for block in OPTIONAL_BLOCKS if block not in blocks]
    if missing:
        found.append(checks.Warning(
            f"ABMCRM_BASE_TEMPLATE {name!r} has no block "
            + " or ".join(f'"{block}"' for block in missing)
            + ": abmcrm's pages would lose their titles or extra styles.",
            hint=hint, id="abmcrm.W012"))
    if HEAD_TEMPLATE not in includes:
        found.append(checks.Warning(
            f"ABMCRM_BASE_TEMPLATE {name!r} does not include {HEAD_TEMPLATE!r}: abmcrm's "
            "pages would have no stylesheet.", hint=hint, id="abmcrm.W013"))
    return found


@checks.register(checks.Tags.caches)
def throttle_cache(app_configs=None, **kwargs):
    """Failed log-ins and the per-user rates are counted in this cache: it must be shared by
    every web process (not checked with DEBUG on: one development server is one process)."""
    alias = settings.ABMCRM_THROTTLE_CACHE
    if alias not in django_settings.CACHES:
        return [checks.Error(
            f"ABMCRM_THROTTLE_CACHE names {alias!r}, which is not in CACHES: every log-in "
            "would fail.", hint=f"Name one of {sorted(django_settings.CACHES)} or add "
                                f'CACHES["{alias}"].', id="abmcrm.E015")]
    backend = django_settings.CACHES[alias].get("BACKEND", "")
    if django_settings.DEBUG:
        return []
    hint = (f'Give CACHES["{alias}"] a cache every web process shares, e.g. '
            '{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": '
            '"redis://localhost:6379/1"} (or name one in ABMCRM_THROTTLE_CACHE).')
    if backend.endswith(".DummyCache"):
        return [checks.Error(
            f"The cache {alias!r} keeps nothing: failed log-ins and API rates would never "
            "be throttled.", hint=hint, id="abmcrm.E015")]
    if backend.endswith(".LocMemCache"):
        return [checks.Warning(
            f"The cache {alias!r} is each process's own memory: with several web processes "
            "each counts failed log-ins and API rates on its own, and lets through that many "
            "times more.", hint=hint, id="abmcrm.W014")]
    return []


@checks.register(checks.Tags.security)
def content_security_policy(app_configs=None, **kwargs):
    for path in django_settings.MIDDLEWARE:
        if path in CSP_MIDDLEWARE:
            return []
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if any(_subclass_of(middleware, base) for base in CSP_MIDDLEWARE):
            return []
    return [checks.Warning(
        "No Content-Security-Policy middleware: abmcrm's pages (and the API docs) are served "
        "without a CSP.",
        hint='Add "csp.middleware.CSPMiddleware" to MIDDLEWARE with the CONTENT_SECURITY_POLICY '
             "of docs/guide/install.md (if your proxy sets the header, silence abmcrm.W016).",
        id="abmcrm.W016")]


def _subclass_of(cls, path):
    try:
        return isinstance(cls, type) and issubclass(cls, import_string(path))
    except ImportError:
        return False
