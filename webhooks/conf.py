"""Settings of the webhooks app, with their defaults (override any in the host project's
settings). Read them as `from webhooks.conf import settings`."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # A delivery is tried at most this many times, then dead-lettered.
    "ABMCRM_WEBHOOK_MAX_ATTEMPTS": 12,
    # The first retry waits this many seconds; each next one twice as long (with ±25 %
    # jitter), at most ABMCRM_WEBHOOK_RETRY_MAX. With the defaults the 11 waits add up to
    # 12,310 s (3 h 25 min), between 3 h 4 min and 3 h 46 min with the jitter
    # (docs/apps/webhooks.md, "The retry schedule").
    "ABMCRM_WEBHOOK_RETRY_BASE": 10,
    "ABMCRM_WEBHOOK_RETRY_MAX": 3600,
    # Seconds to connect to and hear back from a receiver.
    "ABMCRM_WEBHOOK_TIMEOUT": 10,
    # Private, loopback and link-local targets are refused outside DEBUG (a webhook must not
    # reach into the servers' own network) unless this is True.
    "ABMCRM_WEBHOOK_ALLOW_PRIVATE": False,
    # A subscription none of whose deliveries succeeded for this many seconds, while some
    # failed, is paused and its admins are e-mailed.
    "ABMCRM_WEBHOOK_PAUSE_AFTER": 24 * 3600,
    # The sweeper queues again a delivery due this many seconds ago that has not run.
    "ABMCRM_WEBHOOK_STUCK_AFTER": 60,
    # Characters of a receiver's answer kept with the delivery.
    "ABMCRM_WEBHOOK_RESPONSE_EXCERPT": 1024,
    # The sender of the "subscription paused" e-mail; None: DEFAULT_FROM_EMAIL.
    "ABMCRM_WEBHOOK_EMAIL_FROM": None,
}

settings = AppSettings("webhooks", DEFAULTS)
