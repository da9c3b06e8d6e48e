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
    AppConfig hook `user_languages`, read by `abmcrm.core.i18n`): a preference loaded with
    the user already is read as it is, the others in one query."""
    found, unknown = {}, []
    for user in users:
        if type(user).abm_notification_preference.is_cached(user):
            try:
                language = user.abm_notification_preference.language
            except NotificationPreference.DoesNotExist:  # loaded: the user has none
                language = ""
            if language:
                found[user.pk] = language
        else:
            unknown.append(user.pk)
    if unknown:
        found.update(NotificationPreference.objects.filter(user_id__in=unknown)
                     .exclude(language="").values_list("user_id", "language"))
    return found
