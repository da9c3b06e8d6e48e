"""Building a history for the in-market tests: accounts with events, intent signals, funnel
transitions and deals at chosen times."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from funnel.models import Stage, StageTransition
from inmarket.models import AccountSnapshot
from pipeline.models import Opportunity, OpportunityStage
from tiers.models import EngagementEvent, EngagementKind, IcpCriterion, IcpProfile, IntentSignal

# What was known then: not the mark of the scores written since (the scoring's, not the
# snapshot's; a rebuild keeps it and a new row has none).
SNAPSHOT_FIELDS = [field.name for field in AccountSnapshot._meta.fields
                   if field.name not in ("id", "scores_mark")]


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


def synthetic_history(*, accounts=300, weeks=20, now=None, seed=1, strength=1.0):
    """Snapshots written directly (as a rebuild would) for `accounts` accounts over `weeks`
    weeks, and deals planted by a known logistic rule of their features: fit, surging intent
    and recent engagement raise the chance an account opens a deal in the next weeks."""
    import math

    from tests import factories

    rng = random.Random(seed)
    now = now or timezone.now()
    created = [factories.AccountFactory() for _ in range(accounts)]
    stage = OpportunityStage.objects.filter(is_won=False, is_lost=False).first()
    snapshots, deals = [], []
    base = monday(now)
    for account in created:
        fit = rng.randint(0, 100)
        propensity = rng.gauss(0, 1)
        for back in range(weeks, 0, -1):
            week = base - timedelta(weeks=back)
            as_of = timezone.make_aware(timezone.datetime.combine(
                week, timezone.datetime.min.time())) + timedelta(days=7, microseconds=-1)
            surging = int(rng.random() < 0.2 + 0.1 * (propensity > 0))
            engaged = rng.randint(0, 3) + (2 if propensity > 0.5 else 0)
            purchase = int(rng.random() < 0.05 + 0.1 * (propensity > 1))
            snapshots.append(AccountSnapshot(
                account=account, week=week, as_of=as_of, fit_score=fit,
                fit_criteria_met=fit // 34, intent_score=60 * surging + rng.randint(0, 30),
                surging_topics=surging, intent_topics=surging + rng.randint(0, 1),
                engagement_7d=engaged // 2, engagement_30d=engaged,
                engagement_90d=engaged * 2, engagement_points=engaged * 12.5,
                purchase_30d=purchase, contacts_30d=min(engaged, 3), tier=rng.choice([1, 2, 3]),
                funnel_stage="engaged" if engaged else "target"))
            z = strength * (-5.2 + 0.025 * fit + 1.2 * surging + 0.35 * engaged
                            + 1.5 * purchase)
            if rng.random() < 1 / (1 + math.exp(-z)):
                opened = as_of + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 23))
                if opened < now:
                    deals.append(Opportunity(
                        account=account, name="Deal", currency="USD", amount=Decimal("5000"),
                        stage=stage, status=Opportunity.Status.LOST,
                        opened_at=opened, closed_at=opened + timedelta(hours=1),
                        stage_changed_at=opened))
    AccountSnapshot.objects.bulk_create(snapshots, batch_size=2000)
    Opportunity.objects.bulk_create(deals, batch_size=2000)
    return created
