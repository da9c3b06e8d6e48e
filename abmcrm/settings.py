"""Settings for the abmcrm reference project, read from the environment.

Safe by default: DEBUG is off unless DJANGO_DEBUG=1, a SECRET_KEY is then required, and
the HTTPS hardening that `manage.py check --deploy` asks for is on. With no DATABASE_URL
the project uses SQLite under var/; with no CELERY_BROKER_URL, an embedded filesystem
broker under var/ that needs no server.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ABMCRM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DEBUG is off "
            "(set DJANGO_DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "abmcrm.core",
    "tiers",
    "programs",
    "funnel",
    "pipeline",
    "inmarket",
    "webhooks",
    "plays",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (the picker's choice is kept there and in a cookie), before common:
    # the pages and the API's error messages follow the reader's language, by default the
    # browser's (Accept-Language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "abmcrm.urls"
WSGI_APPLICATION = "abmcrm.wsgi.application"
ASGI_APPLICATION = "abmcrm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "abmcrm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "abmcrm.core.context_processors.abm",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'abmcrm.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if "postgresql" in DATABASES["default"]["ENGINE"] and env_bool("DATABASE_PREPARED_STATEMENTS",
                                                                  True):
    # Bind parameters on the server and prepare a statement the fifth time a connection runs
    # it: PostgreSQL then skips parsing and planning, which for the short statements of a
    # fulfillment or an order move costs more than running them (half the database's CPU per
    # order sent). A pooler that shares connections per transaction (PgBouncer before 1.21)
    # cannot keep prepared statements: set DATABASE_PREPARED_STATEMENTS=0 behind one.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True,
                                                          prepare_threshold=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and the worker read while the other writes; the timeout
    # makes a writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English unless the reader's browser or the language picker asks for another of LANGUAGES.
LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [
    ("en", "English"),
    ("id", "Bahasa Indonesia"),
    ("ko", "한국어"),
    ("zh-hant", "繁體中文"),
]
# abmcrm's catalogues live in the core app's locale/ directory, so an installed wheel carries
# them and Django finds them without this setting; naming it here sends `makemessages`, run
# from the repository root, to write every app's strings into that one catalogue.
LOCALE_PATHS = [BASE_DIR / "abmcrm" / "core" / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# Numbers on the pages are grouped as the reader's locale groups them (1,502,613). Ids in
# the templates' attributes and links are written unlocalized.
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Allow large CSV uploads (the importer streams them from disk).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGIN_URL = "abmcrm-login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "abmcrm-login"

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS")
# A hung mail server must not hold a worker (mails are sent from fulfillment tasks too).
EMAIL_TIMEOUT = float(os.environ.get("DJANGO_EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "abmcrm@localhost")

# HTTPS hardening, on unless DEBUG; each can be turned off for a TLS-terminating proxy set-up.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
if env_bool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every response (django-csp): scripts, styles, fonts and images
# from this site only, no inline script or style, no plugins, no framing, forms post here.
# The pages have no script; the API docs' Swagger UI loads its set-up script as a file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# The throttles (failed log-ins, the expensive endpoints) count in the default cache, which
# every web process must share: DJANGO_CACHE_URL=redis://host:6379/2 in production. Without
# it, a file cache under var/ that the processes of one host share.
_cache_url = os.environ.get("DJANGO_CACHE_URL", "")
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _cache_url}}
elif _cache_url:
    raise ImproperlyConfigured(
        f"DJANGO_CACHE_URL must be a redis:// (or rediss://, unix://) URL, not {_cache_url!r}.")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an API client with a bad token gets 401 with WWW-Authenticate.
        "abmcrm.core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with a JSON parser that answers 400 (not 500) to any body it can't take.
    "DEFAULT_PARSER_CLASSES": [
        "abmcrm.core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's renderers, with a JSON renderer that can write any text a request sent.
    "DEFAULT_RENDERER_CLASSES": [
        "abmcrm.core.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "abmcrm.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "abmcrm.core.api.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "abmcrm.core.api.errors.api_exception_handler",
    # The proxies in front of Django: the throttles take the client's address from
    # X-Forwarded-For, as the last of them saw it (not the proxy's own address, which every
    # client would share). Unset without a proxy: the header is then the client's to forge.
    "NUM_PROXIES": (int(os.environ["DJANGO_NUM_PROXIES"]) if os.environ.get("DJANGO_NUM_PROXIES")
                    else 1 if env_bool("DJANGO_BEHIND_PROXY") else None),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "abmcrm API",
    "DESCRIPTION": "Account-based marketing: accounts, tiers, program orders and the dual funnel.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: the docs work offline and at a known version.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ProgramOrderStatusEnum": "programs.models.ProgramOrder.Status",
        "ImportJobStatusEnum": "abmcrm.core.models.Job.Status",
        "TierRuleRequirementEnum": "tiers.models.TierRule.Requirement",
        # A contact's buying role and its role on a deal's buying committee.
        "BuyingRoleEnum": "tiers.models.Contact.BuyingRole",
    },
}

# Celery. No CELERY_BROKER_URL: kombu's filesystem transport under var/, no server needed.
# (kombu ignores the host; naming one saves a "No hostname was supplied" warning.)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connection after every task unless this is
# set, and a new PostgreSQL connection costs more than a whole fulfillment. Keep it open for
# this many tasks; abmcrm/celery.py still closes it, as Django does between web requests,
# once CONN_MAX_AGE has passed or when it fails its health check.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange table; by default a `control/` folder in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The filesystem transport has no fan-out exchange, so no remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    # Must exceed the longest countdown/ETA a task is scheduled with, or Redis redelivers
    # the message to a second worker while the first one still waits.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200")),
    }
# Publishing a task must fail fast when the broker is down, so that approving an order still
# answers quickly (the order then waits for the sweeper): a short connect timeout and at
# most two quick retries.
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "1"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3,
}
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = CELERY_BROKER_CONNECTION_TIMEOUT
# The periodic jobs (abmcrm/celery.py adds abmcrm.beat_schedule() to the beat schedule).
ABMCRM_RECOMPUTE_EVERY = float(os.environ.get("ABMCRM_RECOMPUTE_EVERY_SECONDS", 24 * 3600))
# Every sweeper (`manage.py redrive`); its interval adds to how long a dead worker's send
# stays "sending".
ABMCRM_REDRIVE_EVERY = float(os.environ.get("ABMCRM_REDRIVE_EVERY", "60"))

# Fulfillment providers (programs/conf.py has the defaults and the other ABMCRM_FULFILLMENT_*
# settings). API keys and webhook secrets are read from the environment variables named here.
ABMCRM_PROVIDERS = {
    "manual": {"class": "programs.fulfillment.providers.manual.ManualProvider"},
    "gifting": {
        "class": "programs.fulfillment.providers.gifting.GiftingProvider",
        "base_url": os.environ.get("ABMCRM_GIFTING_URL", ""),
        "api_key_env": "ABMCRM_GIFTING_API_KEY",
        "webhook_secret_env": "ABMCRM_GIFTING_WEBHOOK_SECRET",
        "timeout": float(os.environ.get("ABMCRM_GIFTING_TIMEOUT", "10")),
    },
    "ad_audience": {
        "class": "programs.fulfillment.providers.ad_audience.AdAudienceProvider",
        "base_url": os.environ.get("ABMCRM_AD_AUDIENCE_URL", ""),
        "api_key_env": "ABMCRM_AD_AUDIENCE_API_KEY",
        "webhook_secret_env": "ABMCRM_AD_AUDIENCE_WEBHOOK_SECRET",
        "audience_id": os.environ.get("ABMCRM_AD_AUDIENCE_ID", "abm-target-accounts"),
        "timeout": float(os.environ.get("ABMCRM_AD_AUDIENCE_TIMEOUT", "10")),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
                "client_errors_without_traceback": {
                    "()": "abmcrm.core.log.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "mail_admins": {"level": "ERROR", "filters": ["require_debug_false"],
                        "class": "django.utils.log.AdminEmailHandler"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # Django's own console handler (with DEBUG on) would write each django.* record a second
    # time, beside the root's; errors still mail ADMINS as by default.
    "loggers": {"django": {"handlers": ["mail_admins"], "level": "INFO", "propagate": True},
                # A 403 or 404 is one line ("Forbidden (Permission denied): /orders/…"),
                # not a traceback (abmcrm/core/log.py).
                "django.request": {"filters": ["client_errors_without_traceback"]}},
}
