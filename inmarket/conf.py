"""Settings of the inmarket app, all optional: `ABMCRM_*` in the host project's settings.
Read as `conf.settings.ABMCRM_<NAME>` (abmcrm.core.conf.AppSettings). The thresholds of the
buying stages and of the 6QA are data (`InMarketSettings`, in the admin), not settings."""

from abmcrm.core.conf import AppSettings

DEFAULTS = {
    # The label: the account opens a deal within this many days after the snapshot.
    "ABMCRM_INMARKET_HORIZON_DAYS": 90,
    # Fewer accounts than this that opened a deal in the labelled history: no model is
    # trained; the transparent rule gives the probability.
    "ABMCRM_INMARKET_MIN_POSITIVES": 50,
    # A newly trained model becomes active unless its holdout AUC is below the active one's
    # by more than this.
    "ABMCRM_INMARKET_ACTIVATION_TOLERANCE": 0.02,
    # Engagement kinds that are a pricing or demo request: they count as purchase signals
    # (the `purchase` stage, the snapshot's `purchase_30d`).
    "ABMCRM_INMARKET_PURCHASE_KINDS": ["demo_request", "pricing_request"],
    # Training reads at most this many snapshot rows (the most recent weeks first are kept
    # whole; older weeks are left out beyond it), which bounds its memory.
    "ABMCRM_INMARKET_MAX_TRAINING_ROWS": 4_000_000,
    # Threads scikit-learn's native code (OpenMP, BLAS) may use while training or scoring. A
    # worker shares its machine: OpenMP spinning on cores busy with other work is slower
    # than one thread (None: as many as the machine has).
    "ABMCRM_INMARKET_THREADS": 1,
}


settings = AppSettings("inmarket", DEFAULTS)
