from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InMarketConfig(AppConfig):
    """The in-market prediction: weekly point-in-time snapshots of every scored account, a
    model trained on the team's own deals (or a transparent rule until there are enough),
    buying stages, the 6QA and the backtest page. Above `pipeline`: its deals are what the
    model learns to predict. It writes its scores onto tiers' Account after each recompute
    (`tiers.signals.recompute_finished`)."""

    name = "inmarket"
    label = "inmarket"
    verbose_name = _("In-market prediction")
    default_auto_field = "django.db.models.BigAutoField"

    abm_managed = True
    role_permissions = {
        "Marketer": ["inmarket.view_inmarketmodel", "inmarket.view_trainingjob",
                     "inmarket.view_inmarketsettings", "inmarket.view_accountsnapshot"],
    }
    nav_links = [(_("In-market model"), "inmarket-backtest", "marketer", 6)]

    def ready(self):
        from tiers import signals as tiers_signals

        # The tasks are registered with Celery as the app loads (beat names them by path;
        # nothing else imports them before a worker needs them).
        from . import receivers, tasks  # noqa: F401

        tiers_signals.recompute_finished.connect(
            receivers.on_recompute_finished, dispatch_uid="inmarket.on_recompute_finished")
