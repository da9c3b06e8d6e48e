"""Existing installs: the built-in stages get their slot, and the state rows' first-reached
columns and won amounts are filled from the history (what `manage.py rebuild_funnel_state` does, written out
here so the migration keeps working whatever that command becomes)."""

from django.db import migrations

SLOTS = {
    "AccountFunnel": ("account", ("target", "engaged", "qualified", "sql", "opportunity",
                                  "won")),
    "Lead": ("lead", ("inquiry", "mql", "sql", "opportunity", "won")),
}


def fill(apps, schema_editor):
    Stage = apps.get_model("funnel", "Stage")
    StageTransition = apps.get_model("funnel", "StageTransition")
    all_slots = {slot for _, slots in SLOTS.values() for slot in slots}
    for stage in Stage.objects.filter(slug__in=all_slots, slot__isnull=True):
        Stage.objects.filter(pk=stage.pk).update(slot=stage.slug)
    by_slot = dict(Stage.objects.filter(slot__isnull=False).values_list("slot", "pk"))
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    tmeta = StageTransition._meta
    to, at = quote(tmeta.get_field("to_stage").column), quote(tmeta.get_field("occurred_at").column)
    for model_name, (fk_name, slots) in SLOTS.items():
        meta = apps.get_model("funnel", model_name)._meta
        pairs = [(quote(meta.get_field(f"reached_{slot}_at").column), by_slot[slot])
                 for slot in slots if slot in by_slot]
        if not pairs:
            continue
        fk = quote(tmeta.get_field(fk_name).column)
        state, pk = quote(meta.db_table), quote(meta.pk.column)
        first = ", ".join(f"MIN(CASE WHEN t.{to} = {stage} THEN t.{at} END) AS c{i}"
                          for i, (_, stage) in enumerate(pairs))
        sets = ", ".join(f"{col} = h.c{i}" for i, (col, _) in enumerate(pairs))
        if "won" in by_slot:
            amount = quote(tmeta.get_field("amount").column)
            first += (f", COALESCE(SUM(CASE WHEN t.{to} = {by_slot['won']} THEN t.{amount} "
                      "END), 0) AS won")
            sets += f", {quote(meta.get_field('won_amount').column)} = h.won"
        ids = ", ".join(str(stage) for _, stage in pairs)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {state} SET {sets} FROM (SELECT t.{fk} AS eid, {first} "
                f"FROM {quote(tmeta.db_table)} t WHERE t.{fk} IS NOT NULL AND t.{to} IN ({ids}) "
                f"GROUP BY t.{fk}) h WHERE {state}.{pk} = h.eid")


class Migration(migrations.Migration):
    dependencies = [("funnel", "0008_stage_slots_reached_at")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
