"""Indexes for the account and contact lists at scale: their default and offered orderings
(each with the id that breaks ties) and the account search (trigram GIN indexes on
PostgreSQL, for `icontains`; the pg_trgm extension is trusted since PostgreSQL 13, so the
database owner may create it). The unused index on LOWER(name) goes."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

import abmcrm.core.db.indexes


def create_pg_trgm(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ('tiers', '0011_job_lease_and_queueing'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # PostgreSQL only. Kept when migrating back: something else may use it.
        migrations.RunPython(create_pg_trgm, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='account',
            name='tiers_account_name_lower',
        ),
        migrations.AddIndex(
            model_name='account',
            index=models.Index(fields=['name', 'id'], name='tiers_account_name_id'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=models.Index(fields=['employees', 'id'], name='tiers_account_employees_id'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=models.Index(fields=['annual_revenue', 'id'], name='tiers_account_revenue_id'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=models.Index(fields=['estimated_acv', 'id'], name='tiers_account_acv_id'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=models.Index(fields=['created_at', 'id'], name='tiers_account_created_id'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=abmcrm.core.db.indexes.TrigramIndex(django.db.models.functions.text.Upper('name'), name='tiers_account_name_search'),
        ),
        migrations.AddIndex(
            model_name='account',
            index=abmcrm.core.db.indexes.TrigramIndex(django.db.models.functions.text.Upper('domain'), name='tiers_account_domain_search'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['last_name', 'first_name', 'id'], name='tiers_contact_name_id'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['first_name', 'id'], name='tiers_contact_first_name_id'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['email', 'id'], name='tiers_contact_email_id'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['created_at', 'id'], name='tiers_contact_created_id'),
        ),
    ]
