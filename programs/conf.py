"""Settings of the programs app: `ABMCRM_*` in the host project's settings, defaults here.

Read through `conf.settings.<NAME>` (without the prefix), never from django.conf directly,
so that tests can override them with `override_settings`."""

from django.conf import settings as django_settings

DEFAULTS = {
    # False: reps order programs only for the accounts they own. True: for any account.
    "REPS_ORDER_ANY_ACCOUNT": False,
    # E-mail the requesting rep when one of their orders reaches one of these statuses.
    "ORDER_NOTIFY_STATUSES": ["approved", "rejected", "cancelled", "fulfilled", "failed"],
    # The sender of those e-mails; None: DEFAULT_FROM_EMAIL.
    "ORDER_EMAIL_FROM": None,
    # Base URL used for links in e-mails (e.g. "https://abm.example.com"); empty: no links.
    "SITE_URL": "",
    # Fulfilment providers by name; `ProgramItem.fulfilment_method` names one. Each entry has
    # the provider's class and its configuration; secrets are named by environment variable,
    # never written into settings.
    "PROVIDERS": {
        "manual": {"class": "programs.providers.manual.ManualProvider"},
        "gifting": {
            "class": "programs.providers.gifting.GiftingProvider",
            "base_url": "",
            "api_key_env": "ABMCRM_GIFTING_API_KEY",
            "webhook_secret_env": "ABMCRM_GIFTING_WEBHOOK_SECRET",
            "timeout": 10,
        },
        "ad_audience": {
            "class": "programs.providers.ad_audience.AdAudienceProvider",
            "base_url": "",
            "api_key_env": "ABMCRM_AD_AUDIENCE_API_KEY",
            "webhook_secret_env": "ABMCRM_AD_AUDIENCE_WEBHOOK_SECRET",
            "audience_id": "abm-target-accounts",
            "timeout": 10,
        },
    },
    # Transient provider errors (timeouts, connection errors, 5xx, 429) are retried this many
    # times, after about RETRY_BACKOFF × 2^n seconds with full jitter, at most
    # RETRY_BACKOFF_MAX; then the order fails with the last error. Keep the broker's
    # visibility timeout above RETRY_BACKOFF_MAX.
    "FULFILMENT_MAX_RETRIES": 6,
    "FULFILMENT_RETRY_BACKOFF": 5,
    "FULFILMENT_RETRY_BACKOFF_MAX": 600,
    # The sweeper re-sends an approved order whose send task was never queued (or was queued
    # this long ago and never ran) and an order stuck "sending" this long (seconds).
    "FULFILMENT_STUCK_AFTER": 15 * 60,
    # …and asks the provider about a gift sent but not delivered after this long.
    "FULFILMENT_RECONCILE_SENT_AFTER": 6 * 3600,
    # How many orders one sweep handles at most (the next sweep takes the rest).
    "FULFILMENT_SWEEP_BATCH": 500,
}


class _Settings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown programs setting {name!r}")
        return getattr(django_settings, f"ABMCRM_{name}", DEFAULTS[name])


settings = _Settings()
