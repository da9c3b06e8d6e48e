from django.db import migrations


class Migration(migrations.Migration):
    """One spelling: fulfillment."""

    dependencies = [
        ("programs", "0005_index_diet"),
    ]

    operations = [
        migrations.RenameField(model_name="programitem", old_name="fulfilment_method",
                               new_name="fulfillment_method"),
    ]
