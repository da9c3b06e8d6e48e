"""Settings of the tiers app, with their defaults (override any in the host project's settings).

Read them as `from tiers.conf import settings; settings.ABMCRM_SURGE_THRESHOLD`
(`abmcrm.core.conf.AppSettings`)."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # Intent: a topic surges when its average over the last ABMCRM_SURGE_RECENT_WEEKS weeks
    # is at least the threshold and above the average of the ABMCRM_SURGE_BASELINE_WEEKS
    # weeks before them.
    "ABMCRM_SURGE_THRESHOLD": 60,
    "ABMCRM_SURGE_RECENT_WEEKS": 3,
    "ABMCRM_SURGE_BASELINE_WEEKS": 12,
    # Engagement: each event's weight halves every half-life; events older than the window
    # count nothing; "recent engagement" is a meaningful (weight > 0) event in the last N days.
    "ABMCRM_ENGAGEMENT_HALF_LIFE_DAYS": 14,
    "ABMCRM_ENGAGEMENT_WINDOW_DAYS": 90,
    "ABMCRM_RECENT_ENGAGEMENT_DAYS": 30,
    # Accounts rescored per database round trip during a recompute.
    "ABMCRM_RECOMPUTE_CHUNK_SIZE": 5_000,
    # A full recompute on PostgreSQL writes each chunk on a second database connection while
    # it reads the next one (False: one connection, one chunk after the other).
    "ABMCRM_RECOMPUTE_OVERLAP_WRITES": True,
    # How many left-out account ids a recompute reports per tier when a capacity is full.
    "ABMCRM_OVERFLOW_REPORT_LIMIT": 100,
    # A lead or contact with a free-mail address is matched to the account whose normalised
    # name scores at least this (0–100, rapidfuzz token-sort ratio) against its company.
    "ABMCRM_COMPANY_MATCH_THRESHOLD": 90,
}


settings = AppSettings("tiers", DEFAULTS)
