"""Reads of the plays app: plays, a play's log, the suggestions on an account's menu, a
user's alert preferences. Each a fixed number of queries."""

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from abmcrm.core import roles
from abmcrm.core.hooks import Suggestion
from programs.models import ProgramOrder

from .models import NotificationPreference, Play, PlayRun, PlaySuggestion


def play_list(*, user):
    """Plays: marketers and admins see them all (reps none: plays are marketing's tools)."""
    queryset = Play.objects.select_related("created_by").annotate(
        run_count=Count("runs")).order_by("name", "pk")
    return queryset if roles.is_marketer(user) else queryset.none()


def play_log(*, play):
    """A play's runs, newest first, with their account's name."""
    return (PlayRun.objects.filter(play=play).select_related("account")
            .order_by("-created_at", "-id"))


def suggestions_open(*, account, item_ids=None):
    """The account's suggestions still standing: not expired, and the item not ordered for
    the account since (any order, the rep's or a play's: the suggestion was taken up)."""
    ordered_since = ProgramOrder.objects.filter(
        account_id=OuterRef("account_id"), item_id=OuterRef("item_id"),
        created_at__gte=OuterRef("created_at"))
    queryset = (PlaySuggestion.objects.filter(account=account, expires_at__gt=timezone.now())
                .exclude(Exists(ordered_since)).select_related("play")
                .order_by("-created_at", "-id"))
    if item_ids is not None:
        queryset = queryset.filter(item_id__in=item_ids)
    return queryset


def menu_suggestions(account, item_ids):
    """The programs menu's hook (`abmcrm.core.hooks.menu_suggestions`): {item id:
    Suggestion}, the latest play's suggestion of each item, in one query."""
    found = {}
    for suggestion in suggestions_open(account=account, item_ids=item_ids):
        if suggestion.item_id not in found and suggestion.play.is_active:
            found[suggestion.item_id] = Suggestion(
                by=_("play “%(play)s”") % {"play": suggestion.play.name},
                reason=suggestion.reason, ref={"play": suggestion.play_id})
    return found


def users_languages(users):
    """{user pk: language} of those of `users` who chose the language of their e-mails (the
    AppConfig hook `user_languages`, read by `abmcrm.core.i18n`). Preferences not loaded
    with the users yet are read in one query and kept on them, so that what the e-mail reads
    next (the digest setting, Slack) costs nothing more."""
    if not users:
        return {}
    relation = type(users[0]).abm_notification_preference.related
    missing = [user for user in users if not relation.is_cached(user)]
    if missing:
        loaded = {preference.user_id: preference for preference in
                  NotificationPreference.objects.filter(user_id__in=[u.pk for u in missing])}
        for user in missing:
            relation.set_cached_value(user, loaded.get(user.pk))
    found = {}
    for user in users:
        preference = relation.get_cached_value(user)
        if preference is not None and preference.language:
            found[user.pk] = preference.language
    return found
