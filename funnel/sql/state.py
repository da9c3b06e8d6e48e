"""The state rows' first-reached columns (`reached_<slot>_at`) and won amounts rebuilt from the
history, one
UPDATE … FROM a side: the history grouped once by entity (a conditional MIN a stage) is
cheaper than a correlated subquery a stage and entity, and only the rows that differ are
written, so a second run writes nothing. Table and column names come from the models'
`_meta`."""

from django.db import connection

from abmcrm.core.db.names import column, null_safe_equals, table

from ..models import AccountFunnel, Lead, StageTransition


def rebuild_reached(model, stages):
    """Set every `model` row's first-reached columns and won amount from its transitions;
    `stages` = the Stage rows (those with a slot of `model` count). Returns the number of
    rows changed."""
    slots = [(column(model, model.reached_field(s)), s.pk) for s in stages
             if model.reached_field(s)]
    won = [pk for col, pk in slots if col == column(model, "reached_won_at")]
    if not slots:
        return 0
    fk = column(StageTransition, "account" if model is AccountFunnel else "lead")
    to, at = column(StageTransition, "to_stage"), column(StageTransition, "occurred_at")
    state, pk = table(model), column(model, model._meta.pk.name)
    transitions = table(StageTransition)
    ids = ", ".join(str(stage_pk) for _, stage_pk in slots)
    same = null_safe_equals()
    amount, won_amount = column(StageTransition, "amount"), column(model, "won_amount")
    won_sum = (f"COALESCE(SUM(CASE WHEN t.{to} = {won[0]} THEN t.{amount} END), 0)" if won
               else "0")
    first = ", ".join([*(f"MIN(CASE WHEN t.{to} = {stage_pk} THEN t.{at} END) AS c{i}"
                         for i, (_, stage_pk) in enumerate(slots)), f"{won_sum} AS won"])
    sets = ", ".join([*(f"{col} = h.c{i}" for i, (col, _) in enumerate(slots)),
                      f"{won_amount} = h.won"])
    differs = " OR ".join([*(f"NOT ({state}.{col} {same} h.c{i})"
                             for i, (col, _) in enumerate(slots)),
                           f"{state}.{won_amount} <> h.won"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {state} SET {sets} FROM (SELECT t.{fk} AS eid, {first} "
            f"FROM {transitions} t WHERE t.{fk} IS NOT NULL AND t.{to} IN ({ids}) "
            f"GROUP BY t.{fk}) h WHERE {state}.{pk} = h.eid AND ({differs})")
        changed = cursor.rowcount
        # Rows with no transition to any slot's stage (history deleted by hand, or a
        # column set by mistake): all NULL.
        cursor.execute(
            f"UPDATE {state} SET {', '.join(f'{col} = NULL' for col, _ in slots)}, "
            f"{won_amount} = 0 "
            f"WHERE ({' OR '.join(f'{col} IS NOT NULL' for col, _ in slots)} "
            f"OR {won_amount} <> 0) "
            f"AND NOT EXISTS (SELECT 1 FROM {transitions} t WHERE t.{fk} = {state}.{pk} "
            f"AND t.{to} IN ({ids}))")
        return changed + cursor.rowcount


def rebuild_all(stages):
    """`rebuild_reached` of both sides: {"accounts": n changed, "leads": n changed}."""
    return {"accounts": rebuild_reached(AccountFunnel, stages),
            "leads": rebuild_reached(Lead, stages)}
