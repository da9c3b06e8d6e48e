from decimal import Decimal

from django.db import migrations

# key, name, weight. Impressions, clicks and plain web visits are not meaningful engagement;
# demo and pricing requests weigh most.
KINDS = [
    ("demo_request", "Demo request", 40),
    ("pricing_request", "Pricing request", 40),
    ("meeting", "Meeting", 30),
    ("pricing_page_visit", "Pricing-page visit", 15),
    ("event_attended", "Event attended", 15),
    ("email_reply", "E-mail reply", 10),
    ("content_download", "Content download", 8),
    ("web_visit", "Web visit", 0),
    ("ad_click", "Ad click", 0),
    ("ad_impression", "Ad impression", 0),
]

# The Goldilocks tiers. ACV: large ≥ 50,000; medium ≥ 15,000; smaller < 50,000.
RULES = [
    (10, 1, "Just right: high fit, large ACV, recent intent and engagement", 70,
     Decimal("50000"), None, "yes", "yes"),
    (20, 2, "Too big: high fit, medium ACV, recent intent, no engagement yet", 70,
     Decimal("15000"), None, "yes", "no"),
    (30, 3, "Too small: high fit, smaller ACV, no intent, no engagement", 70,
     None, Decimal("50000"), "no", "no"),
]


def create(apps, schema_editor):
    EngagementKind = apps.get_model("tiers", "EngagementKind")
    Tier = apps.get_model("tiers", "Tier")
    TierRule = apps.get_model("tiers", "TierRule")
    for key, name, weight in KINDS:
        EngagementKind.objects.get_or_create(key=key, defaults={"name": name, "weight": weight})
    if TierRule.objects.exists():
        return
    for priority, number, name, min_fit, min_acv, max_acv, intent, engagement in RULES:
        tier = Tier.objects.filter(number=number).first()
        if tier is None:
            continue
        TierRule.objects.create(
            name=name, tier=tier, priority=priority, min_fit=min_fit, min_acv=min_acv,
            max_acv=max_acv, recent_intent=intent, recent_engagement=engagement,
        )


def remove(apps, schema_editor):
    apps.get_model("tiers", "TierRule").objects.filter(
        priority__in=[r[0] for r in RULES], name__in=[r[2] for r in RULES]
    ).delete()
    apps.get_model("tiers", "EngagementKind").objects.filter(
        key__in=[k[0] for k in KINDS], events__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("tiers", "0004_scoring_and_tiering")]
    operations = [migrations.RunPython(create, remove)]
