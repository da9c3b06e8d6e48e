"""The time windows a score is computed over, fixed once per recompute."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ..conf import settings


@dataclass(frozen=True)
class Windows:
    now: object
    intent_recent_start: object
    intent_baseline_start: object
    intent_end: object
    engagement_start: object
    engagement_recent_start: object
    half_life_seconds: float
    threshold: float

    @classmethod
    def at(cls, now):
        today = timezone.localdate(now)
        monday = today - timedelta(days=today.weekday())
        recent_start = monday - timedelta(weeks=settings.ABMCRM_SURGE_RECENT_WEEKS - 1)
        return cls(
            now=now,
            intent_recent_start=recent_start,
            intent_baseline_start=recent_start - timedelta(
                weeks=settings.ABMCRM_SURGE_BASELINE_WEEKS),
            intent_end=today + timedelta(days=1),
            engagement_start=now - timedelta(days=settings.ABMCRM_ENGAGEMENT_WINDOW_DAYS),
            engagement_recent_start=now - timedelta(days=settings.ABMCRM_RECENT_ENGAGEMENT_DAYS),
            half_life_seconds=settings.ABMCRM_ENGAGEMENT_HALF_LIFE_DAYS * 86400.0,
            threshold=float(settings.ABMCRM_SURGE_THRESHOLD),
        )
