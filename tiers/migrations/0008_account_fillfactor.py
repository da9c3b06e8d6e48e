"""Leave half of each tiers_account page free (PostgreSQL only; SQLite has no fillfactor).

A recompute rewrites the score columns of every account it rescores, none of them indexed, so
PostgreSQL can write the new row version on the same page without touching the table's
indexes (a HOT update) — but only if the page has room for it. A first recompute after a bulk
load rewrites every row of a page in one transaction, so a page needs as much room free as it
holds: at the default fillfactor (100) no update was HOT and the 100,000 score updates of the
benchmark took ~4 s instead of ~1 s. The table would reach this size anyway after its first
full rewrite (the old versions' space), so little is lost. Applies to pages written from now
on; an existing table gets it on its next rewrite (VACUUM FULL).
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tiers_account SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tiers_account RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("tiers", "0007_contact_address"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
