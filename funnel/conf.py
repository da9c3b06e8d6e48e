"""Settings of the funnel app, all optional: `ABMCRM_*` in the host project's settings.
Read as `conf.settings.ABMCRM_<NAME>` (abmcrm.core.conf.AppSettings)."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # A new lead enters the demand-gen side's first stage at its `created_at`.
    "ABMCRM_FUNNEL_LEAD_ENTERS_FIRST_STAGE": True,
    # Days before and after an account's first touch by a campaign compared for the lift.
    "ABMCRM_FUNNEL_LIFT_WINDOW_DAYS": 30,
    # The default period of the report page, in days back from today.
    "ABMCRM_FUNNEL_DEFAULT_PERIOD_DAYS": 365,
}


settings = AppSettings("funnel", DEFAULTS)
