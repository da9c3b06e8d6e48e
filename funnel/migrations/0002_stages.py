from django.db import migrations

# slug, name, side, position, won, lost, opportunity, handoff
STAGES = [
    ("target", "Target account", "abm", 10, False, False, False, False),
    ("engaged", "Engaged account", "abm", 20, False, False, False, True),
    ("qualified", "Qualified (in-market) account", "abm", 30, False, False, False, False),
    ("inquiry", "Inquiry", "demand_gen", 10, False, False, False, False),
    ("mql", "MQL", "demand_gen", 20, False, False, False, True),
    ("sql", "SQL", "shared", 40, False, False, False, False),
    ("opportunity", "Opportunity", "shared", 50, False, False, True, False),
    ("won", "Closed won", "shared", 60, True, False, False, False),
    ("lost", "Closed lost", "shared", 90, False, True, False, False),
]


def create_stages(apps, schema_editor):
    Stage = apps.get_model("funnel", "Stage")
    for slug, name, side, position, won, lost, opportunity, handoff in STAGES:
        Stage.objects.update_or_create(slug=slug, defaults={
            "name": name, "side": side, "position": position, "is_won": won, "is_lost": lost,
            "is_opportunity": opportunity, "is_handoff": handoff,
        })


class Migration(migrations.Migration):
    dependencies = [("funnel", "0001_initial")]

    operations = [migrations.RunPython(create_stages, migrations.RunPython.noop)]
