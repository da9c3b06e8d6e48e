"""Settings of the plays app, all optional: `ABMCRM_*` in the host project's settings.
Read as `conf.settings.ABMCRM_<NAME>` (abmcrm.core.conf.AppSettings). Links in the e-mails
use the programs app's ABMCRM_SITE_URL; how often the digests go is the core's
ABMCRM_ALERT_DIGEST_EVERY (abmcrm.beat_schedule())."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # A play's suggestion stays on the account's menu this many days, or until the item is
    # ordered for the account.
    "ABMCRM_PLAY_SUGGESTION_DAYS": 30,
    # The sender of the alert e-mails; None: DEFAULT_FROM_EMAIL.
    "ABMCRM_ALERT_EMAIL_FROM": None,
    # A Slack incoming webhook that does not answer within this many seconds is given up on
    # (the e-mail still goes; the next digest posts again).
    "ABMCRM_SLACK_TIMEOUT": 5,
    # The sweeper queues again the handling of events received this long ago (seconds) and
    # not handled, and the immediate alerts not sent; at most ABMCRM_PLAY_SWEEP_BATCH alerts
    # a sweep.
    "ABMCRM_PLAY_SWEEP_AFTER": 60,
    "ABMCRM_PLAY_SWEEP_BATCH": 500,
    # Handled events' receipts are deleted after this many days (keep it above the outbox's
    # ABMCRM_OUTBOX_RETENTION_DAYS).
    "ABMCRM_PLAY_RECEIPT_DAYS": 60,
}

settings = AppSettings("plays", DEFAULTS)
