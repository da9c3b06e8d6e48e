"""Building a history for the in-market tests: accounts with events, intent signals, funnel
transitions and deals at chosen times."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from funnel.models import Stage, StageTransition
from inmarket.models import AccountSnapshot
from pipeline.models import Opportunity, OpportunityStage
from tiers.models import EngagementEvent, EngagementKind, IcpCriterion, IcpProfile, IntentSignal

SNAPSHOT_FIELDS = [field.name for field in AccountSnapshot._meta.fields
                   if field.name not in ("id",)]


def icp():
    profile = IcpProfile.objects.create(name="ICP", is_active=True)
    IcpCriterion.objects.create(profile=profile, attribute="industry", values=["software"],
                                weight=2)
    IcpCriterion.objects.create(profile=profile, attribute="employees", min_value=100,
                                max_value=5000, weight=1)
    return profile


_counter = [0]


def event(account, kind, at, contact=None):
    _counter[0] += 1
    return EngagementEvent.objects.create(
        account=account, kind=EngagementKind.objects.get(key=kind), occurred_at=at,
        contact=contact, dedupe_key=f"test-{_counter[0]}-{at.isoformat()}")


def signal(account, topic, score, week):
    return IntentSignal.objects.create(account=account, topic=topic, score=score,
                                       source="bombora", week=week)


def deal(account, opened_at, *, closed_at=None, won=False, amount=Decimal("1000")):
    if closed_at is None:
        stage, status = OpportunityStage.objects.filter(is_won=False, is_lost=False).first(), \
            Opportunity.Status.OPEN
    elif won:
        stage, status = OpportunityStage.objects.get(is_won=True), Opportunity.Status.WON
    else:
        stage, status = OpportunityStage.objects.get(is_lost=True), Opportunity.Status.LOST
    return Opportunity.objects.create(account=account, name="Deal", currency="USD",
                                      amount=amount, stage=stage, status=status,
                                      opened_at=opened_at, closed_at=closed_at,
                                      stage_changed_at=closed_at or opened_at)


def transition(account, slug, at, previous=None):
    return StageTransition.objects.create(
        account=account, to_stage=Stage.objects.get(slug=slug),
        from_stage=Stage.objects.get(slug=previous) if previous else None, occurred_at=at)


def monday(moment):
    day = timezone.localdate(moment)
    return day - timedelta(days=day.weekday())


def snapshot_rows(**filters):
    """The snapshots as comparable tuples, by account and week."""
    return sorted(AccountSnapshot.objects.filter(**filters).values_list(*SNAPSHOT_FIELDS))
