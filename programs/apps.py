from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramsConfig(AppConfig):
    name = "programs"
    label = "programs"
    verbose_name = _("ABM program menus and orders")
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True

    # Reps order; marketers approve (ABM admins hold every permission of this app).
    role_permissions = {
        "Sales rep": [
            "programs.add_programorder", "programs.view_programorder",
            "programs.view_programitem", "programs.view_campaign", "programs.view_menuentry",
            "programs.view_budget", "programs.view_orderevent",
        ],
        "Marketer": [
            "programs.add_programorder", "programs.change_programorder",
            "programs.approve_programorder",
        ],
    }
    # (label, url name, who sees it): see abmcrm/core/hooks.py.
    nav_links = [(_("Orders"), "order-list", "any"),
                 (_("Approvals"), "order-approvals", "marketer"),
                 (_("Fulfillment"), "fulfillment-queue", "marketer")]
    account_page_panels = ["programs.pages.account_orders_panel"]
    # Provider orders approved while the broker was down, or stuck in flight.
    sweepers = [("fulfillment", "programs.fulfillment.dispatch.fulfillment_redrive")]
    demo_loaders = ["programs.demo.load"]

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
