"""Engagement: the account's meaningful events, each weighted by its kind and halved every
half-life, summed in the database. Admin-set multipliers weigh an event by its contact's
persona (in the sum) and the account's tier (on the sum); they compound, and at their
default of 1 they change nothing."""

import math
from dataclasses import dataclass, field

from django.db.models import Case, F, FloatField, Max, Q, Sum, Value, When
from django.db.models.functions import Greatest, Power

from abmcrm.core.db.expressions import EpochSeconds

from ..models import EngagementEvent, PersonaMultiplier, Tier


@dataclass(frozen=True)
class Multipliers:
    """[(job function, seniority, multiplier)] of the personas, highest first ("" matches
    any), and {tier id: multiplier}; those equal to 1 are left out."""

    personas: list = field(default_factory=list)
    tiers: dict = field(default_factory=dict)

    @classmethod
    def current(cls):
        personas = [(function, seniority, float(multiplier)) for function, seniority, multiplier
                    in PersonaMultiplier.objects.exclude(multiplier=1)
                    .order_by("-multiplier", "id")
                    .values_list("job_function", "seniority", "multiplier")]
        tiers = {pk: float(multiplier) for pk, multiplier in
                 Tier.objects.exclude(engagement_multiplier=1)
                 .values_list("pk", "engagement_multiplier")}
        return cls(personas, tiers)

    def persona_expression(self):
        """The event's persona multiplier (1 for an event without a contact or a persona
        without a multiplier); None when no persona has one, so that the sum needs no join
        to the contacts."""
        if not self.personas:
            return None
        whens = []
        for function, seniority, multiplier in self.personas:
            conditions = {"contact__isnull": False}
            if function:
                conditions["contact__job_function"] = function
            if seniority:
                conditions["contact__seniority"] = seniority
            whens.append(When(Q(**conditions), then=Value(multiplier)))
        return Case(*whens, default=Value(1.0), output_field=FloatField())

    def for_tier(self, raw, tier_id):
        return raw * self.tiers[tier_id] if tier_id in self.tiers else raw


NO_MULTIPLIERS = Multipliers()


def decay_expression(windows):
    """weight × ½^(age / half-life); an event dated in the future (clock skew) counts fully."""
    age = Greatest(Value(0.0), Value(windows.now.timestamp()) - EpochSeconds("occurred_at"))
    return F("kind__weight") * Power(Value(0.5), age / Value(windows.half_life_seconds))


def engagement_rows(account_filter, windows, multipliers=NO_MULTIPLIERS):
    """account_id → (raw points, time of the latest recent meaningful event or None). The
    persona multipliers are in the points; the tier's are the caller's (`Multipliers.for_tier`:
    the account's tier is at hand there, and a join per event would cost more)."""
    points = decay_expression(windows)
    persona = multipliers.persona_expression()
    if persona is not None:
        points = points * persona
    rows = (
        EngagementEvent.objects.filter(account_filter, occurred_at__gte=windows.engagement_start,
                                       kind__weight__gt=0)
        .values("account_id")
        .annotate(
            raw=Sum(points, output_field=FloatField()),
            last=Max(Case(When(occurred_at__gte=windows.engagement_recent_start,
                               then=F("occurred_at")))),
        )
        .order_by()
        .values_list("account_id", "raw", "last")
    )
    return {account_id: (float(raw or 0), last) for account_id, raw, last in rows}


def engagement_score(raw):
    return min(100, int(math.floor(raw + 0.5)))
