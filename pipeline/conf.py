"""Settings of the pipeline app, all optional: `ABMCRM_*` in the host project's settings.
Read as `conf.settings.ABMCRM_<NAME>` (abmcrm.core.conf.AppSettings)."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # Deals at stages with at least this win probability (%) are the forecast's "commit".
    "ABMCRM_COMMIT_PROBABILITY": 75,
    # Touches up to this many days before a deal opened are credited for it.
    "ABMCRM_ATTRIBUTION_LOOKBACK_DAYS": 180,
    # The time-decay model halves a touch's weight every this many days before the deal.
    "ABMCRM_ATTRIBUTION_HALF_LIFE_DAYS": 7,
    # The model the campaign ROI and the pages use when none is asked for.
    "ABMCRM_ATTRIBUTION_DEFAULT_MODEL": "linear",
    # The default period of the pipeline report and attribution, in days back from today.
    "ABMCRM_PIPELINE_DEFAULT_PERIOD_DAYS": 365,
    # Months the forecast shows when none are asked for (the API and the page).
    "ABMCRM_FORECAST_MONTHS": 6,
    # The sweeper queues the deal touch refresh again for deals a bulk load queued this many
    # seconds ago that are still waiting (the broker was down, the worker died).
    "ABMCRM_DEAL_TOUCHES_SWEEP_AFTER": 300,
}


settings = AppSettings("pipeline", DEFAULTS)
