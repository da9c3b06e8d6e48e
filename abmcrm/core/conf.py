"""Plugin settings: `ABMCRM_*` names in the host project's settings, with each app's
defaults in its own `conf.py` (django-filter's `conf.py` pattern).

Read them as `from abmcrm.core.conf import settings; settings.ABMCRM_IMPORT_MAX_BYTES` (or an
app's own `conf.settings`), never from `django.conf.settings` directly, so that the defaults
apply and `override_settings` is seen at every access.
"""

import warnings
from datetime import timedelta

from django.conf import settings as django_settings

_UNSET = object()


class AppSettings:
    """One app's settings: each name is read from the host project's settings at every access
    (so `override_settings` applies), else its default.

    `renamed` maps a setting's old name to its new one: a host that still sets the old name
    keeps working, with a DeprecationWarning that names the new one (and `manage.py check`
    lists it, see `checks.py`)."""

    def __init__(self, app, defaults, *, renamed=None):
        self._app, self._defaults = app, defaults
        self._renamed = dict(renamed or {})
        self._old_names = {new: old for old, new in self._renamed.items()}

    def __getattr__(self, name):
        if name in self._renamed:
            warnings.warn(f"{name} is deprecated: read {self._renamed[name]} instead.",
                          DeprecationWarning, stacklevel=2)
            name = self._renamed[name]
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(f"Unknown {self._app} setting {name!r}")
        value = getattr(django_settings, name, _UNSET)
        if value is not _UNSET:
            return value
        old = self._old_names.get(name)
        if old is not None and hasattr(django_settings, old):
            warnings.warn(f"The setting {old} is deprecated: rename it {name}.",
                          DeprecationWarning, stacklevel=2)
            return getattr(django_settings, old)
        return self._defaults[name]

    def deprecated_in_use(self):
        """[(old name, new name)] of the renamed settings the host still sets."""
        return [(old, new) for old, new in self._renamed.items()
                if hasattr(django_settings, old)]


DEFAULTS = {
    # Dates may lie this far in the future (clock skew between systems), no further.
    "ABMCRM_MAX_FUTURE_SKEW_HOURS": 24,
    # Largest CSV file the import endpoint accepts.
    "ABMCRM_IMPORT_MAX_BYTES": 200 * 1024 * 1024,
    # The template abmcrm's pages extend: the package's own, or a host's base with the blocks
    # `title`, `extra_head` and `content` that includes "abmcrm/head.html".
    "ABMCRM_BASE_TEMPLATE": "abmcrm/base.html",
    # How often Celery beat runs the periodic jobs (seconds; abmcrm.beat_schedule()).
    "ABMCRM_RECOMPUTE_EVERY": 24 * 3600,
    "ABMCRM_REDRIVE_EVERY": 60,
    # The plays app's owner-alert digests (a core setting: the schedule is read before the
    # apps are loaded).
    "ABMCRM_ALERT_DIGEST_EVERY": 24 * 3600,
    "ABMCRM_INMARKET_TRAIN_EVERY": 7 * 24 * 3600,
    # API tokens expire this long after they are issued: a timedelta, seconds, or None for
    # never. Changing it applies to tokens issued from then on.
    "ABMCRM_TOKEN_TTL": timedelta(days=30),
    # Failed log-ins (the login page and the token endpoint alike) allowed per username and
    # per client address within ABMCRM_LOGIN_FAILURE_WINDOW seconds; then 429 until the
    # window ends. None switches a rule off.
    "ABMCRM_LOGIN_FAILURES_PER_USERNAME": 10,
    "ABMCRM_LOGIN_FAILURES_PER_ADDRESS": 50,
    "ABMCRM_LOGIN_FAILURE_WINDOW": 15 * 60,
    # Per-user rates of the expensive API endpoints ("number/second|minute|hour|day"; None:
    # unlimited). A host's dict is merged over these.
    "ABMCRM_THROTTLE_RATES": {
        "funnel_report": "60/minute",   # GET funnel/report/
        "recompute": "10/hour",         # POST tiers/recompute/
        "imports": "60/hour",           # POST imports/
    },
    # The cache the throttles count in. It must be shared by every web process (Redis,
    # Memcached, a database cache), or each process counts on its own.
    "ABMCRM_THROTTLE_CACHE": "default",
    # False: the API schema and its docs page need a signed-in user; True: open to anyone.
    "ABMCRM_API_DOCS_PUBLIC": False,
    # The currency of amounts that carry none of their own on the pages: annual revenue,
    # estimated ACV, budgets, pipeline and won revenue (program items and orders have theirs).
    "ABMCRM_CURRENCY": "USD",
    # Background jobs (imports, recomputes; abmcrm/core/jobs.py). A running job's worker
    # renews its lease with each progress save; a job whose heartbeat is older than this
    # (seconds) is presumed abandoned by a dead worker and may be started over. Keep it above
    # the longest step of a job between two progress saves.
    "ABMCRM_JOB_LEASE_SECONDS": 600,
    # The sweeper queues again a pending job whose task was queued this long ago (seconds)
    # and never started (a job whose task could not be queued at all, at once).
    "ABMCRM_JOB_STUCK_AFTER": 15 * 60,
    # A job started this many times without ending (its worker died each time) is failed.
    "ABMCRM_JOB_MAX_ATTEMPTS": 3,
    # Lists (API and pages) count their rows only when a page does not tell the count. A
    # count of at least ABMCRM_LIST_COUNT_CACHE_ABOVE rows is kept this long (seconds) in
    # the cache: paging a list of 100,000 accounts then costs no COUNT a page, and the
    # count it shows is at most this old. 0: count every time.
    "ABMCRM_LIST_COUNT_CACHE_SECONDS": 30,
    "ABMCRM_LIST_COUNT_CACHE_ABOVE": 10_000,
    # Outbox events (abmcrm/core/outbox.py) handed to every consumer are deleted this many
    # days later by the sweeper, with what the consumers keep of them (webhook deliveries);
    # None: kept for ever.
    "ABMCRM_OUTBOX_RETENTION_DAYS": 30,
}

settings = AppSettings("abmcrm", DEFAULTS)
