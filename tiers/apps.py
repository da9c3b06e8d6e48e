from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TiersConfig(AppConfig):
    name = "tiers"
    label = "tiers"
    verbose_name = "ABM accounts and tiers"
    default_auto_field = "django.db.models.BigAutoField"

    role_permissions = {
        "Sales rep": [
            "tiers.view_account", "tiers.change_account", "tiers.view_contact",
            "tiers.add_contact", "tiers.change_contact", "tiers.view_tier",
            "tiers.view_technology",
        ],
    }
    demo_loaders = ["tiers.demo.load"]

    def ready(self):
        from . import ingest, roles
        from .ingesters import AccountIngester, ContactIngester

        ingest.register(AccountIngester())
        ingest.register(ContactIngester())

        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="abmcrm.sync_roles")
