import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ROLES = ("Sales rep", "Marketer", "ABM admin")


def create_roles(apps, schema_editor):
    """The three roles as groups; their permissions are synced after every migrate."""
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=10)),
                ('message', models.TextField(blank=True, help_text='Why the job failed, if it did; notes.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('kind', models.CharField(max_length=40)),
                ('file', models.FileField(upload_to='imports/%Y/%m/')),
                ('original_name', models.CharField(blank=True, max_length=255)),
                ('total_rows', models.PositiveIntegerField(blank=True, null=True)),
                ('rows_done', models.PositiveIntegerField(default=0)),
                ('created', models.PositiveIntegerField(default=0)),
                ('updated', models.PositiveIntegerField(default=0)),
                ('error_count', models.PositiveIntegerField(default=0)),
                ('errors', models.JSONField(blank=True, default=list)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'import job',
                'ordering': ['-created_at', '-id'],
                'abstract': False,
            },
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
