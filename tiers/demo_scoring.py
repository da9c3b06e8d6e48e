"""Demo data for scoring and tiering: an ICP profile, weekly intent signals and engagement
events shaped so that the demo shows accounts in all three tiers (the demo rep owning some
tier-1 accounts), then a recompute. Idempotent: signals are upserts, events carry external
ids, and the profile is created once."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import demo as tiers_demo
from . import scoring, services
from .models import Account, EngagementEvent, EngagementKind, IcpCriterion, IcpProfile

TOPICS = ["account-based marketing", "intent data", "marketing automation", "sales engagement",
          "crm software", "predictive analytics", "customer data platform",
          "demand generation"]
SOURCES = ["bombora", "g2", "first_party"]
CRITERIA = [
    ("industry", {"values": ["software", "technology", "finance", "telecommunications",
                             "medical"]}, 3),
    ("employees", {"min_value": Decimal(200)}, 2),
    ("annual_revenue", {"min_value": Decimal(5_000_000)}, 2),
    ("technology", {"values": ["Salesforce", "HubSpot", "Marketo", "SAP ERP", "NetSuite",
                               "Oracle ERP"]}, 2),
    ("region", {"values": ["North America", "EMEA"]}, 1),
]
MEANINGFUL = ["demo_request", "pricing_request", "meeting", "pricing_page_visit",
              "event_attended", "email_reply", "content_download"]
NOISE = ["web_visit", "ad_click", "ad_impression"]


def _profile():
    profile, created = IcpProfile.objects.get_or_create(
        name="Default ICP",
        defaults={"description": "B2B tech, finance and health companies with 200+ staff, "
                                 "5M+ revenue and a modern sales and marketing stack."},
    )
    if created:
        for attribute, limits, weight in CRITERIA:
            IcpCriterion.objects.create(profile=profile, attribute=attribute, weight=weight,
                                        **limits)
    if not IcpProfile.objects.filter(is_active=True).exists():
        services.icp_profile_activate(profile=profile)
    return profile


def _weeks(today, count):
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=i) for i in range(count)]


def _story(accounts, rep):
    """{account id: "hot" | "researching" | "quiet"} (others: "noise"), which the intent and
    engagement below turn into tiers 1, 2 and 3 (the others stay untiered).

    Among the high-fit data-set accounts with a large ACV, those with the largest deals are
    hot (the demo rep's first, so the rep has tier-1 accounts to work) and the next ones
    research; the rest are noise, sold to by demand generation. The generated accounts split
    by ACV: half the large ones hot, half the medium ones researching, the small ones quiet.
    Half the data-set accounts with a smaller ACV are quiet too."""
    sizes = tiers_demo.typical_deals()
    fit = [a for a in accounts if a.fit_score >= 70]
    acv = {a.pk: a.estimated_acv or 0 for a in fit}
    real = [a for a in fit if a.name in sizes]
    made = [a for a in fit if a.name not in sizes]
    real_large = sorted((a for a in real if acv[a.pk] >= 50_000),
                        key=lambda a: (-sizes[a.name], a.external_id or ""))
    mine = [a for a in real_large if rep and a.owner_id == rep.pk][:4]
    hot_count = max(len(mine), round(len(real_large) * 0.3))
    hot = mine + [a for a in real_large if a not in mine][:hot_count - len(mine)]
    researching = [a for a in real_large if a not in hot][:round(len(real_large) * 0.15)]
    quiet = [a for a in real if acv[a.pk] < 50_000][::2]
    made_large = [a for a in made if acv[a.pk] >= 50_000]
    made_medium = [a for a in made if 15_000 <= acv[a.pk] < 50_000]
    hot += made_large[: (len(made_large) + 1) // 2]
    researching += made_medium[: (len(made_medium) + 1) // 2]
    quiet += [a for a in made if acv[a.pk] < 50_000 and a not in researching]
    story = {a.pk: "quiet" for a in quiet}
    story.update({a.pk: "researching" for a in researching})
    story.update({a.pk: "hot" for a in hot})
    return story


@transaction.atomic
def load(stdout=None):
    _profile()
    if EngagementEvent.objects.filter(external_id__startswith="DEMO-").exists():
        # Loaded before: accounts added or edited since must not reshuffle the story.
        if stdout:
            stdout.write("Scoring: demo intent and engagement already loaded.")
        return
    rng = random.Random(3)
    rep = get_user_model().objects.filter(username="rep").first()
    scoring.recompute()  # fit first: the story below picks accounts by fit and ACV

    now = timezone.now()
    today = timezone.localdate(now)
    recent, baseline = _weeks(today, 3), _weeks(today, 15)[3:]
    accounts = list(Account.objects.filter(Q(external_id__startswith="MAVEN-")
                                           | Q(external_id__startswith="GEN-"))
                    .order_by("external_id", "pk"))
    story = _story(accounts, rep)

    signals, events = [], []
    for account in accounts:
        kind = story.get(account.pk, "noise")
        topics = rng.sample(TOPICS, 3)
        for index, topic in enumerate(topics):
            source = SOURCES[index % len(SOURCES)]
            surging = kind in ("hot", "researching") and index < 2
            for week in baseline:
                signals.append({"account": account, "topic": topic, "source": source,
                                "week": week, "score": rng.randint(15, 45)})
            for week in recent:
                score = rng.randint(68, 96) if surging else rng.randint(10, 50)
                signals.append({"account": account, "topic": topic, "source": source,
                                "week": week, "score": score})
        contacts = list(account.contacts.all()[:3])
        plan = [(rng.choice(NOISE), rng.randint(0, 80)) for _ in range(rng.randint(3, 8))]
        if kind == "hot":
            plan += [(rng.choice(MEANINGFUL[:4]), rng.randint(0, 20)) for _ in range(3)]
        elif kind == "noise" and rng.random() < 0.3:
            plan.append((rng.choice(MEANINGFUL), rng.randint(0, 60)))
        for number, (kind_key, days_ago) in enumerate(plan):
            at = timezone.make_aware(datetime.combine(today - timedelta(days=days_ago),
                                                      time(9 + number % 8, 15)))
            events.append({
                "account": account, "kind": kind_key, "occurred_at": min(at, now),
                "contact": rng.choice(contacts) if contacts and kind_key in MEANINGFUL
                else None,
                "source": rng.choice(["web", "linkedin-q3", "webinar-abm", "sdr-outreach"]),
                "external_id": f"DEMO-{account.external_id or account.pk}-{days_ago}-{number}",
            })
    kinds = {kind.key: kind for kind in EngagementKind.objects.all()}
    for event in events:
        event["kind"] = kinds[event["kind"]]
    created_signals = services.intent_signal_bulk_upsert(rows=list(enumerate(signals)))[0]
    created_events, _, _, _ = services.engagement_event_bulk_insert(rows=list(enumerate(events)))
    result = scoring.recompute()
    if stdout:
        counts = {n: Account.objects.filter(tier__number=n).count() for n in (1, 2, 3)}
        mine = Account.objects.filter(tier__number=1, owner=rep).count() if rep else 0
        stdout.write(
            f"Scoring: {created_signals} intent signals and {created_events} engagement events "
            f"added; {result.tier_changes} tier changes; tiers 1/2/3: {counts[1]}/{counts[2]}/"
            f"{counts[3]} accounts (rep owns {mine} in tier 1)."
        )
