"""Checks every app's serializers share."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from ..conf import settings as conf


def not_in_future(value, *, what, hint=""):
    """`value` (a datetime or a date) unless it lies further ahead than the clock skew
    allowed between systems (ABMCRM_MAX_FUTURE_SKEW_HOURS): a date far in the future would
    sort after every real event and block what comes next (a lead's or an account's later
    moves, the intent windows)."""
    hours = conf.ABMCRM_MAX_FUTURE_SKEW_HOURS
    now = timezone.now()
    latest = now + timedelta(hours=hours)
    if isinstance(value, datetime):
        future = value > latest
    else:
        future = value > timezone.localdate(latest)
    if future:
        message = _("%(what)s %(value)s is in the future; at most %(hours)s hours ahead is "
                    "accepted.") % {"what": what, "value": value.isoformat(), "hours": hours}
        raise serializers.ValidationError(f"{message} {hint}" if hint else message)
    return value
