"""Small builders shared by the scoring and tiering tests."""

from datetime import timedelta

from django.utils import timezone

from tests.factories import AccountFactory
from tiers import services
from tiers.models import EngagementEvent, EngagementKind, IcpCriterion, IcpProfile, IntentSignal
from tiers.services import engagement_dedupe_key

NOW = timezone.now()


def monday(day):
    return day - timedelta(days=day.weekday())


def icp(*criteria):
    """icp(("industry", {"values": ["software"]}, 3), …) → the active profile."""
    profile = IcpProfile.objects.create(name="ICP", is_active=True)
    for attribute, limits, weight in criteria:
        IcpCriterion.objects.create(profile=profile, attribute=attribute, weight=weight, **limits)
    return profile


def signal(account, topic, score, weeks_ago, now=None, source="bombora"):
    now = now or timezone.now()
    week = monday(timezone.localdate(now)) - timedelta(weeks=weeks_ago)
    return IntentSignal.objects.create(account=account, topic=topic, score=score, source=source,
                                       week=week)


_counter = iter(range(10**9))


def event(account, kind, at, contact=None, source="web"):
    kind = EngagementKind.objects.get(key=kind)
    external_id = f"T-{next(_counter)}"
    return EngagementEvent.objects.create(
        account=account, kind=kind, occurred_at=at, contact=contact, source=source,
        external_id=external_id,
        dedupe_key=engagement_dedupe_key(account_id=account.pk, kind_key=kind.key,
                                         occurred_at=at, contact_id=None, source=source,
                                         external_id=external_id),
    )


def recompute(**kwargs):
    return services.tiers_recompute(now=kwargs.pop("now", NOW), **kwargs)

def fresh(account):
    account.refresh_from_db()
    return account


def goldilocks(acv, *, intent, engagement, fit_industry="software"):
    account = AccountFactory(estimated_acv=acv, industry=fit_industry)
    if intent:
        signal(account, "abm", 90, 0, NOW)
    if engagement:
        event(account, "demo_request", NOW)
    return account
