from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    label = "programs"
    verbose_name = "ABM program menus and orders"
    default_auto_field = "django.db.models.BigAutoField"

    # (label, url name, who sees it): see tiers/hooks.py. Append, don't replace.
    nav_links = (
        ("Fulfilment", "fulfillment-queue", "marketer"),
    )

    def ready(self):
        from . import fulfilment_admin  # noqa: F401 - registers the fulfilment admin
