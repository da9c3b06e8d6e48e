from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    """Opportunities (deals), their stages and history, the pipeline reports, the forecast,
    multi-touch attribution and campaign ROI. Above `funnel`: an account's funnel follows its
    deals through the funnel's own transition service."""

    name = "pipeline"
    label = "pipeline"
    verbose_name = _("Pipeline (opportunities)")
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True

    role_permissions = {
        # Every role reads; a rep moves and edits the deals they own (checked per deal).
        "Sales rep": ["pipeline.view_opportunity", "pipeline.change_opportunity",
                      "pipeline.view_opportunitystage", "pipeline.view_opportunitystagechange",
                      "pipeline.view_opportunitycontact"],
        # Marketers create, update and bulk-load deals (the CRM sync).
        "Marketer": ["pipeline.add_opportunity", "pipeline.change_opportunity",
                     "pipeline.add_opportunitystagechange"],
    }
    nav_links = [(_("Pipeline"), "pipeline", "any", 5)]
    account_page_panels = ["pipeline.pages.account_opportunities_panel"]
    funnel_page_panels = ["pipeline.pages.funnel_roi_panel"]
    demo_loaders = ["pipeline.demo.load"]
    # The deal touch rows a bulk load queued and whose task never ran.
    sweepers = [("deal touches", "pipeline.services.deal_touches.deal_touches_pending_redrive")]

    def ready(self):
        from abmcrm.core import ingest

        from .ingesters import OpportunityIngester

        ingest.register(OpportunityIngester())
        from . import receivers

        receivers.connect()
