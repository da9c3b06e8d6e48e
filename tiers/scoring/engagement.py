"""Engagement: the account's meaningful events, each weighted by its kind and halved every
half-life, summed in the database."""

import math

from django.db.models import Case, F, FloatField, Max, Sum, Value, When
from django.db.models.functions import Greatest, Power

from abmcrm.core.db.expressions import EpochSeconds

from ..models import EngagementEvent


def decay_expression(windows):
    """weight × ½^(age / half-life); an event dated in the future (clock skew) counts fully."""
    age = Greatest(Value(0.0), Value(windows.now.timestamp()) - EpochSeconds("occurred_at"))
    return F("kind__weight") * Power(Value(0.5), age / Value(windows.half_life_seconds))


def engagement_rows(account_filter, windows):
    """account_id → (raw points, time of the latest recent meaningful event or None)."""
    rows = (
        EngagementEvent.objects.filter(account_filter, occurred_at__gte=windows.engagement_start,
                                       kind__weight__gt=0)
        .values("account_id")
        .annotate(
            raw=Sum(decay_expression(windows), output_field=FloatField()),
            last=Max(Case(When(occurred_at__gte=windows.engagement_recent_start,
                               then=F("occurred_at")))),
        )
        .order_by()
        .values_list("account_id", "raw", "last")
    )
    return {account_id: (float(raw or 0), last) for account_id, raw, last in rows}


def engagement_score(raw):
    return min(100, int(math.floor(raw + 0.5)))
