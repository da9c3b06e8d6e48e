"""Settings of the programs app: `ABMCRM_*` in the host project's settings, defaults here.

Read as `from .conf import settings as conf; conf.ABMCRM_<NAME>` (abmcrm.core.conf.AppSettings),
never from django.conf directly, so that the defaults apply."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # False: reps order programs only for the accounts they own. True: for any account.
    "ABMCRM_REPS_ORDER_ANY_ACCOUNT": False,
    # E-mail the requesting rep when one of their orders reaches one of these statuses.
    "ABMCRM_ORDER_NOTIFY_STATUSES": ["approved", "rejected", "cancelled", "fulfilled", "failed"],
    # The sender of those e-mails; None: DEFAULT_FROM_EMAIL.
    "ABMCRM_ORDER_EMAIL_FROM": None,
    # Base URL used for links in e-mails (e.g. "https://abm.example.com"); empty: no links.
    "ABMCRM_SITE_URL": "",
    # Fulfillment providers by name; `ProgramItem.fulfillment_method` names one. Each entry has
    # the provider's class and its configuration; secrets are named by environment variable,
    # never written into settings.
    "ABMCRM_PROVIDERS": {
        "manual": {"class": "programs.fulfillment.providers.manual.ManualProvider"},
        "gifting": {
            "class": "programs.fulfillment.providers.gifting.GiftingProvider",
            "base_url": "",
            "api_key_env": "ABMCRM_GIFTING_API_KEY",
            "webhook_secret_env": "ABMCRM_GIFTING_WEBHOOK_SECRET",
            "timeout": 10,
        },
        "ad_audience": {
            "class": "programs.fulfillment.providers.ad_audience.AdAudienceProvider",
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
    "ABMCRM_FULFILLMENT_MAX_RETRIES": 6,
    "ABMCRM_FULFILLMENT_RETRY_BACKOFF": 5,
    "ABMCRM_FULFILLMENT_RETRY_BACKOFF_MAX": 600,
    # The sweeper reconciles a fulfillment stuck "sending" this long (seconds): its worker
    # died mid-call. A live worker holds "sending" for at most two provider calls (a lookup
    # and a send), each cut off at the provider's `timeout`, so keep this above twice the
    # longest timeout (`manage.py check` warns otherwise, programs.W001). An order stays
    # "sending" after its worker died for at most this plus the sweep interval.
    "ABMCRM_FULFILLMENT_STUCK_AFTER": 60,
    # …and re-sends an approved order whose send task was never queued, or was queued this
    # long ago (seconds) and never ran: a long queue is not a lost message.
    "ABMCRM_FULFILLMENT_QUEUED_STUCK_AFTER": 15 * 60,
    # …and asks the provider about a gift sent but not delivered after this long.
    "ABMCRM_FULFILLMENT_RECONCILE_SENT_AFTER": 6 * 3600,
    # A provider webhook signs its timestamp with its body; one whose timestamp is further
    # than this from our clock (seconds) is refused, so a captured request can't be replayed.
    "ABMCRM_WEBHOOK_TOLERANCE_SECONDS": 5 * 60,
    # How many orders one sweep handles at most (the next sweep takes the rest).
    "ABMCRM_FULFILLMENT_SWEEP_BATCH": 500,
}


# The fulfillment settings' old spelling, still read (with a deprecation warning).
RENAMED = {name.replace("FULFILLMENT", "FULFILMENT"): name for name in DEFAULTS
           if name.startswith("ABMCRM_FULFILLMENT_")
           and name != "ABMCRM_FULFILLMENT_QUEUED_STUCK_AFTER"}  # new since the rename

settings = AppSettings("programs", DEFAULTS, renamed=RENAMED)
