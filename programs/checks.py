"""System checks of the programs app (`manage.py check`)."""

from django.core import checks

from .conf import settings as conf


@checks.register()
def fulfillment_stuck_after(app_configs=None, **kwargs):
    """The sweeper must not take a send still in flight for a stuck one: a live worker holds
    "sending" for a lookup and a send, each within its provider's timeout."""
    timeouts = [float(config.get("timeout", 10)) for config in conf.ABMCRM_PROVIDERS.values()
                if "base_url" in config]
    longest = 2 * max(timeouts, default=0)
    stuck_after = conf.ABMCRM_FULFILLMENT_STUCK_AFTER
    if stuck_after <= longest:
        return [checks.Warning(
            f"ABMCRM_FULFILLMENT_STUCK_AFTER ({stuck_after:g} s) is not above twice the longest "
            f"provider timeout ({longest:g} s): the sweeper may reconcile sends still in "
            "flight.", hint=f"Set it above {longest:g} seconds, or shorten the providers' "
                            "`timeout`.", id="programs.W001")]
    return []
