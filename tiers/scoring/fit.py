"""ICP fit: the weighted share of the active profile's criteria an account meets, computed in
the database (one CASE per criterion)."""

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils.text import slugify

from ..models import IcpCriterion, IcpProfile, Technology


def active_criteria():
    profile = IcpProfile.objects.filter(is_active=True).first()
    if profile is None:
        return None, []
    return profile, list(profile.criteria.order_by("id"))


def criterion_q(criterion, prefix=""):
    """The criterion as a filter on Account (prefix: a path to the account, e.g. "account__")."""
    attribute = criterion.attribute
    if attribute == IcpCriterion.Attribute.TECHNOLOGY:
        slugs = [slugify(str(v))[:100] for v in criterion.values if str(v).strip()]
        if not slugs:
            return Q(pk__in=[])
        uses = Technology.accounts.through.objects.filter(
            account_id=OuterRef(f"{prefix}pk"), technology__slug__in=slugs
        )
        return Q(Exists(uses))
    if attribute in IcpCriterion.SET_ATTRIBUTES:
        q = Q(pk__in=[])
        for value in criterion.values:
            q |= Q(**{f"{prefix}{attribute}__iexact": str(value).strip()})
        return q
    q = Q(**{f"{prefix}{attribute}__isnull": False})
    if criterion.min_value is not None:
        q &= Q(**{f"{prefix}{attribute}__gte": criterion.min_value})
    if criterion.max_value is not None:
        q &= Q(**{f"{prefix}{attribute}__lte": criterion.max_value})
    return q


def fit_points_expression(criteria):
    points = Value(0, output_field=IntegerField())
    for criterion in criteria:
        points = points + Case(When(criterion_q(criterion), then=Value(criterion.weight)),
                               default=Value(0), output_field=IntegerField())
    return points


def fit_score(points, total):
    """Weighted share of criteria met, 0–100, rounded half up."""
    if not total:
        return 0
    return (200 * points + total) // (2 * total)
