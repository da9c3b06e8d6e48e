"""Writes of the plays app: plays (marketers and admins) and a user's own notification
preferences. Plays are validated by `serializers.PlaySerializer` before they get here."""

from django.db import transaction

from abmcrm.core import roles
from abmcrm.core.exceptions import NotAllowed

from .models import NotificationPreference, Play

PLAY_FIELDS = ("name", "event", "conditions", "actions", "is_active")


def may_write_plays(user):
    return roles.is_marketer(user)


def _require(user):
    if not may_write_plays(user):
        raise NotAllowed("Only marketers and ABM admins write plays.", code="not_allowed")


def play_create(*, by, **fields):
    _require(by)
    return Play.objects.create(created_by=by, **{k: v for k, v in fields.items()
                                                 if k in PLAY_FIELDS})


def play_update(*, play, by, **fields):
    """Change a play; its log and what it did stay. A change applies to events handled
    from now on."""
    _require(by)
    changed = {k: v for k, v in fields.items() if k in PLAY_FIELDS}
    with transaction.atomic():
        for name, value in changed.items():
            setattr(play, name, value)
        play.save(update_fields=[*changed, "updated_at"])
    return play


def play_delete(*, play, by):
    """Delete a play with its log and suggestions; the orders it placed stay (they are
    orders like any other)."""
    _require(by)
    play.delete()


def preference_save(*, user, **fields):
    """A user's own notification preferences (any role)."""
    if not roles.has_role(user, *roles.ROLES):
        raise NotAllowed("You need the Sales rep, Marketer or ABM admin role.",
                         code="not_allowed")
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults=fields)
    return preference
