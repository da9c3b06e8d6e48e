"""Test settings: the reference project's settings with test-only relaxations."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")

from abmcrm.settings import *  # noqa: E402,F403
from abmcrm.settings import DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Unit tests run tasks in-process; the integration tests (marker `worker`) switch this off
# and start a real worker process.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# A worker process started by the tests uses the test database of the test run.
if os.environ.get("ABMCRM_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["ABMCRM_TEST_DB_NAME"]
    CELERY_TASK_ALWAYS_EAGER = False

# Fulfillment providers point at the fake provider server the tests start (tests/fake_provider.py);
# its URL reaches a worker process through the environment. Short timeouts and backoff keep
# the retry tests quick.
_FAKE_PROVIDER_URL = os.environ.get("ABMCRM_TEST_PROVIDER_URL", "http://127.0.0.1:9")
ABMCRM_PROVIDERS = {
    "manual": {"class": "programs.fulfillment.providers.manual.ManualProvider"},
    "gifting": {"class": "programs.fulfillment.providers.gifting.GiftingProvider",
                "base_url": _FAKE_PROVIDER_URL, "api_key_env": "ABMCRM_GIFTING_API_KEY",
                "webhook_secret_env": "ABMCRM_GIFTING_WEBHOOK_SECRET", "timeout": 2},
    "ad_audience": {"class": "programs.fulfillment.providers.ad_audience.AdAudienceProvider",
                    "base_url": _FAKE_PROVIDER_URL, "api_key_env": "ABMCRM_AD_AUDIENCE_API_KEY",
                    "webhook_secret_env": "ABMCRM_AD_AUDIENCE_WEBHOOK_SECRET",
                    "audience_id": "tier-1", "timeout": 2},
}
ABMCRM_FULFILLMENT_RETRY_BACKOFF = 0.2
ABMCRM_FULFILLMENT_RETRY_BACKOFF_MAX = 1
ABMCRM_FULFILLMENT_MAX_RETRIES = 4

# One process's own cache: each test starts with empty throttle counts (tests/conftest.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Webhooks: the tests' receivers listen on 127.0.0.1; short timeouts and backoff keep the
# retry tests quick.
ABMCRM_WEBHOOK_ALLOW_PRIVATE = True
ABMCRM_WEBHOOK_TIMEOUT = 2
ABMCRM_WEBHOOK_RETRY_BASE = 0.3
ABMCRM_WEBHOOK_RETRY_MAX = 2
