from django.db import migrations

# slug, name, position, probability, won, lost
STAGES = [
    ("prospecting", "Prospecting", 10, 10, False, False),
    ("qualification", "Qualification", 20, 25, False, False),
    ("proposal", "Proposal", 30, 50, False, False),
    ("negotiation", "Negotiation", 40, 75, False, False),
    ("won", "Closed won", 50, 100, True, False),
    ("lost", "Closed lost", 60, 0, False, True),
]


def create_stages(apps, schema_editor):
    Stage = apps.get_model("pipeline", "OpportunityStage")
    for slug, name, position, probability, won, lost in STAGES:
        Stage.objects.get_or_create(slug=slug, defaults={
            "name": name, "position": position, "probability": probability, "is_won": won,
            "is_lost": lost,
        })


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [migrations.RunPython(create_stages, migrations.RunPython.noop)]
