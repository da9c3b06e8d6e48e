from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import post_migrate, post_save, pre_save
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "abmcrm.core"
    label = "abmcore"
    verbose_name = _("abmcrm")
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True
    # The demo users (one per role) come first: the apps' demo loaders build on them.
    demo_loaders = ["abmcrm.core.demo.load_users"]
    # After every app's own links (see hooks.py).
    nav_links = [(_("Imports"), "imports", "any", 90), (_("Admin"), "admin:index", "staff", 100),
                 (_("API"), "api-docs", "any", 100)]
    # Every kind of background job (imports, recomputes…): see abmcrm/core/jobs.py.
    # The outbox's events whose dispatch task never ran, and the old ones to prune.
    sweepers = [("jobs", "abmcrm.core.jobs.jobs_redrive"),
                ("outbox", "abmcrm.core.outbox.outbox_redrive")]

    def ready(self):
        from . import celery_app, checks, roles, tokens  # noqa: F401 - checks registers

        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="abmcrm.sync_roles")
        # A changed password or a deactivation revokes the user's API tokens.
        user_model = get_user_model()
        pre_save.connect(tokens.user_pre_save, sender=user_model,
                         dispatch_uid="abmcrm.tokens.pre_save")
        post_save.connect(tokens.user_post_save, sender=user_model,
                          dispatch_uid="abmcrm.tokens.post_save")
        # abmcrm's tasks are sent with the host's Celery app, or abmcrm's own: never with
        # Celery's built-in default broker.
        celery_app.configure()
