"""The parallel-safe array aggregate reports use on PostgreSQL (abmcrm.core.db.aggregates
says why). Its SQL is written out here, so that the migration stays what it was whatever
that module becomes."""

from django.db import migrations

NAME = "abmcrm_float8_array_agg"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP AGGREGATE IF EXISTS {NAME}(double precision)")
        schema_editor.execute(
            f"CREATE AGGREGATE {NAME}(double precision) (SFUNC = array_append, "
            "STYPE = double precision[], COMBINEFUNC = array_cat, PARALLEL = SAFE)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP AGGREGATE IF EXISTS {NAME}(double precision)")


class Migration(migrations.Migration):

    dependencies = [
        ('abmcore', '0006_job_message_data'),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
