from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FunnelConfig(AppConfig):
    name = "funnel"
    label = "funnel"
    verbose_name = _("Dual funnel")
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True

    nav_links = [(_("Funnel"), "funnel-dashboard", "marketer")]
    role_permissions = {
        "Marketer": ["funnel.add_lead", "funnel.change_lead", "funnel.add_stagetransition"],
    }
    demo_loaders = ["funnel.demo.load"]

    def ready(self):
        from abmcrm.core import ingest
        from tiers import signals

        from . import receivers
        from .ingesters import LeadIngester, TransitionIngester

        ingest.register(LeadIngester())
        ingest.register(TransitionIngester())
        signals.tiers_changed_ids.connect(receivers.on_tiers_changed,
                                          dispatch_uid="funnel.tiers_changed")
        signals.accounts_engaged_ids.connect(receivers.on_accounts_engaged,
                                             dispatch_uid="funnel.accounts_engaged")
