from django.db import migrations, models


def forget_default_coverage(apps, schema_editor):
    """A coverage of 0 with no missing role was never computed: computed, 0 % means every
    required role is missing (and with no role required it is 100 %). Those rows say "not
    computed yet" from now on; the next recompute fills them in."""
    Account = apps.get_model("tiers", "Account")
    Account.objects.filter(coverage=0, missing_roles=[]).update(coverage=None)


class Migration(migrations.Migration):

    dependencies = [
        ("tiers", "0019_job_message_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="coverage",
            field=models.PositiveSmallIntegerField(
                verbose_name="coverage", blank=True, null=True,
                help_text="Share of the tier's required buying committee present, in percent "
                          "(0–100; 100 when the tier requires nobody); empty: not computed yet "
                          "(the next recompute or contact change computes it)."),
        ),
        migrations.RunPython(forget_default_coverage, migrations.RunPython.noop),
    ]
