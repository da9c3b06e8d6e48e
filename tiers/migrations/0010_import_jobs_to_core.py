"""CSV import jobs moved to the shared core (`abmcore.ImportJob`): their rows are copied
there, ids kept, before the tiers table is dropped."""

from django.core.management.color import no_style
from django.db import migrations, models

FIELDS = ("id", "kind", "file", "original_name", "status", "total_rows", "rows_done",
          "created", "updated", "error_count", "errors", "message", "created_by_id",
          "created_at", "started_at", "finished_at")


def copy_jobs(apps, schema_editor):
    Old, New = apps.get_model("tiers", "ImportJob"), apps.get_model("abmcore", "ImportJob")
    using = schema_editor.connection.alias
    rows = [New(**{name: getattr(job, name) for name in FIELDS})
            for job in Old.objects.using(using).order_by("pk")]
    if not rows:
        return
    New.objects.using(using).bulk_create(rows, batch_size=1000)
    # The copied ids were given explicitly: move the id sequence past them.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [New]):
            cursor.execute(sql)
    # auto_now_add overwrote created_at in the copy.
    for job in Old.objects.using(using).only("pk", "created_at"):
        New.objects.using(using).filter(pk=job.pk).update(created_at=job.created_at)


def copy_back(apps, schema_editor):
    Old, New = apps.get_model("tiers", "ImportJob"), apps.get_model("abmcore", "ImportJob")
    using = schema_editor.connection.alias
    Old.objects.using(using).bulk_create(
        [Old(**{name: getattr(job, name) for name in FIELDS})
         for job in New.objects.using(using).order_by("pk")], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("tiers", "0009_account_index_diet"),
        ("abmcore", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_jobs, copy_back),
        migrations.DeleteModel(name="ImportJob"),
        migrations.AlterField(
            model_name="recomputejob",
            name="message",
            field=models.TextField(blank=True, help_text="Why the job failed, if it did; notes."),
        ),
    ]
