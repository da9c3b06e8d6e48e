from django.db import migrations

ROLES = ("Sales rep", "Marketer", "ABM admin")

TIERS = [
    (1, "Just right", "High fit, large ACV, recent intent and recent engagement: 1:1 programs "
     "— thought leadership, custom content, special event invites, personalised landing pages.",
     "1:1"),
    (2, "Too big", "High fit and recent intent but no engagement yet, medium ACV: 1:1 "
     "account-based ads to generic landing pages and intent-driven messages.", "1:few"),
    (3, "Too small", "High fit, no intent, no engagement, smaller ACV: demand-gen programs and "
     "always-on account-based ads that warm the account before an SDR reaches out.", "1:many"),
]


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Tier = apps.get_model("tiers", "Tier")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    for number, name, description, model in TIERS:
        Tier.objects.get_or_create(
            number=number,
            defaults={"name": name, "description": description, "engagement_model": model},
        )


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()
    apps.get_model("tiers", "Tier").objects.filter(number__in=[1, 2, 3]).delete()


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, remove)]
