from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    label = "tiers"
    verbose_name = "ABM accounts and tiers"
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True
    role_permissions = {
        "Sales rep": [
            "tiers.view_account", "tiers.change_account", "tiers.view_contact",
            "tiers.add_contact", "tiers.change_contact", "tiers.view_tier",
            "tiers.view_technology", "tiers.view_intentsignal", "tiers.view_engagementevent",
            "tiers.view_engagementkind", "tiers.view_tierrule", "tiers.view_tierassignment",
            "tiers.view_segment", "tiers.view_icpprofile", "tiers.view_icpcriterion",
            "tiers.view_icppersona", "tiers.view_personarule", "tiers.view_committeerole",
            "tiers.view_personamultiplier",
        ],
        # Marketers feed intent and engagement data, save segments and override tiers.
        "Marketer": [
            "tiers.add_intentsignal", "tiers.change_intentsignal", "tiers.add_engagementevent",
            "tiers.add_segment", "tiers.change_segment", "tiers.delete_segment",
            "tiers.add_tierassignment", "tiers.add_recomputejob",
        ],
    }
    nav_links = [(_("Accounts"), "account-list", "any"), (_("ICP"), "icp-editor", "marketer", 50)]
    demo_loaders = ["tiers.demo.load", "tiers.demo_scoring.load"]

    def ready(self):
        from abmcrm.core import ingest

        from .ingesters import (
            AccountIngester,
            ContactIngester,
            EngagementEventIngester,
            IntentSignalIngester,
        )

        ingest.register(AccountIngester())
        ingest.register(ContactIngester())
        ingest.register(IntentSignalIngester())
        ingest.register(EngagementEventIngester())
