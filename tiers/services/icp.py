"""The ideal customer profile: one active profile, and suggestions turned into criteria."""

from django.db import IntegrityError, transaction

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
        raise Conflict("Another ICP profile was activated at the same moment; reload and "
                       "try again.", code="concurrent_change") from exc
    profile.is_active = True
    return profile


def icp_suggestion_apply(*, attribute, value, weight=1):
    """Turn an ICP suggestion into a criterion of the active profile (created if missing)."""
    suggestion = next((s for s in selectors.icp_suggestions(limit=10_000)
                       if s["attribute"] == attribute and s["value"] == value), None)
    if suggestion is None:
        raise InvalidInput("No such suggestion.", detail={"value": [
            f"“{value}” is not a current suggestion for “{attribute}”; "
            "see GET /api/v1/icp/suggestions/."]})
    with transaction.atomic():
        profile = IcpProfile.objects.select_for_update().filter(is_active=True).first()
        if profile is None:
            profile = IcpProfile.objects.create(name="ICP", is_active=True)
        if attribute in IcpCriterion.SET_ATTRIBUTES:
            criterion = IcpCriterion.objects.create(profile=profile, attribute=attribute,
                                                    values=[value], weight=weight)
        else:
            criterion = IcpCriterion.objects.create(
                profile=profile, attribute=attribute, min_value=suggestion["min_value"],
                max_value=None if suggestion["max_value"] is None else suggestion["max_value"],
                weight=weight)
    return criterion
