from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaysConfig(AppConfig):
    """Plays (when an event happens to an account that matches, suggest programs to its
    owner, notify them, or order programs for approval) and owner alerts (e-mail digests,
    the immediate 6QA alert, Slack). The top layer: it reads the outbox that the apps below
    write, and acts through their services."""

    name = "plays"
    label = "plays"
    verbose_name = _("Plays and owner alerts")
    default_auto_field = "django.db.models.BigAutoField"

    # ABM admins hold every permission of this app's models, marketers view them.
    abm_managed = True

    role_permissions = {
        # Marketers write plays (the API and the page check the role; these are for the admin).
        "Marketer": ["plays.add_play", "plays.change_play", "plays.delete_play"],
    }
    nav_links = [(_("Plays"), "play-list", "marketer", 6),
                 (_("My notifications"), "notification-preferences", "any", 9)]
    menu_suggestions = ["plays.selectors.menu_suggestions"]
    # The language of a user's e-mails (abmcrm.core.i18n): the one chosen in My
    # notifications, for every e-mail any app sends them.
    user_languages = "plays.selectors.users_languages"
    # The outbox hands each batch of new events to `events_receive` (abmcrm.core.outbox).
    outbox_consumers = [("plays", "plays.consumer.events_receive")]
    # Outbox events no consumer run has handled yet (the broker was down, the worker died).
    sweepers = [("plays", "plays.consumer.events_redrive")]
