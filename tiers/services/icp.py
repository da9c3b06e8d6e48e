"""The ideal customer profile: one active profile, and suggestions turned into criteria."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from abmcrm.core.exceptions import Conflict, InvalidInput

from .. import selectors
from ..models import IcpCriterion, IcpProfile


@transaction.atomic
def icp_profile_activate(*, profile):
    """Make this profile the one active ICP (a partial unique index allows one)."""
    try:
        with transaction.atomic():
            IcpProfile.objects.exclude(pk=profile.pk).filter(is_active=True).update(
                is_active=False)
            IcpProfile.objects.filter(pk=profile.pk).update(is_active=True)
    except IntegrityError as exc:
        raise Conflict(_("Another ICP profile was activated at the same moment; reload and "
                         "try again."), code="concurrent_change") from exc
    profile.is_active = True
    return profile


def _active_profile_for_update():
    """The active profile, locked; created (as "ICP") when there is none."""
    profile = IcpProfile.objects.select_for_update().filter(is_active=True).first()
    if profile is None:
        profile = IcpProfile.objects.create(name="ICP", is_active=True)
    return profile


def icp_criterion_add(*, attribute, values=(), min_value=None, max_value=None, weight=1):
    """Add a criterion to the active ICP profile (created if missing): a set of values for a
    set attribute, a range (either end open) for a number."""
    if attribute in IcpCriterion.SET_ATTRIBUTES:
        values = [str(value).strip() for value in values if str(value).strip()]
        if not values:
            raise InvalidInput(_("Choose at least one value."),
                               detail={"values": [_("Choose at least one value.")]})
        min_value = max_value = None
    elif attribute in IcpCriterion.RANGE_ATTRIBUTES:
        if min_value is None and max_value is None:
            raise InvalidInput(_("Give a minimum, a maximum or both."),
                               detail={"min_value": [_("Give a minimum, a maximum or both.")]})
        if min_value is not None and max_value is not None and min_value > max_value:
            raise InvalidInput(_("The minimum is above the maximum."),
                               detail={"max_value": [_("The maximum is below the minimum.")]})
        values = []
    else:
        raise InvalidInput(_("Unknown attribute “%(attribute)s”.") % {"attribute": attribute},
                           detail={"attribute": [_("Choose an attribute from the list.")]})
    with transaction.atomic():
        return IcpCriterion.objects.create(
            profile=_active_profile_for_update(), attribute=attribute, values=list(values),
            min_value=min_value, max_value=max_value, weight=weight)


def icp_criterion_delete(*, criterion):
    criterion.delete()


def icp_suggestion_apply(*, attribute, value, weight=1):
    """Turn an ICP suggestion into a criterion of the active profile (created if missing)."""
    suggestion = next((s for s in selectors.icp_suggestions(limit=10_000)
                       if s["attribute"] == attribute and s["value"] == value), None)
    if suggestion is None:
        raise InvalidInput(_("No such suggestion."), detail={"value": [
            _("“%(value)s” is not a current suggestion for “%(attribute)s”; see GET "
              "/api/v1/icp/suggestions/.") % {"value": value, "attribute": attribute}]})

    with transaction.atomic():
        profile = _active_profile_for_update()
        if attribute in IcpCriterion.SET_ATTRIBUTES:
            criterion = IcpCriterion.objects.create(profile=profile, attribute=attribute,
                                                    values=[value], weight=weight)
        else:
            criterion = IcpCriterion.objects.create(
                profile=profile, attribute=attribute, min_value=suggestion["min_value"],
                max_value=None if suggestion["max_value"] is None else suggestion["max_value"],
                weight=weight)
    return criterion
