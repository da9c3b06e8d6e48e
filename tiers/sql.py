"""The tiers app's raw SQL: the set-based writes of a recompute. Table and column names come
from the models' `_meta`; rows travel as one SQL source (`abmcrm.core.db.rowsets`).

Why not the ORM: Django's bulk_update builds a CASE per field and row, whose compilation
costs ~30× the database's own work at a recompute's size (tens of thousands of rows a
chunk), and bulk_create prepares every value of every row in Python. One UPDATE … FROM or
INSERT … SELECT a batch instead."""

from django.db import connection
from django.utils import timezone

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, json_equals, null_safe_equals, table

from .models import Account, Contact, TierAssignment

SCORE_FIELDS = ["fit_score", "intent_score", "engagement_score", "surging_topics",
                "has_recent_intent", "has_recent_engagement", "contact_fit", "coverage",
                "missing_roles"]
SCORE_COLUMNS = [("id", "int"), ("fit_score", "smallint"), ("intent_score", "smallint"),
                 ("engagement_score", "smallint"), ("surging_topics", "jsonb"),
                 ("has_recent_intent", "bool"), ("has_recent_engagement", "bool"),
                 ("contact_fit", "smallint"), ("coverage", "smallint"),
                 ("missing_roles", "jsonb")]
COMMITTEE_FIELDS = ["contact_fit", "coverage", "missing_roles"]
COMMITTEE_COLUMNS = [("id", "int"), ("contact_fit", "smallint"), ("coverage", "smallint"),
                     ("missing_roles", "jsonb")]
MOVE_COLUMNS = [("id", "int"), ("old_tier", "int"), ("old_rule", "int"), ("new_tier", "int"),
                ("new_rule", "int")]
HISTORY_COLUMNS = [("id", "int"), ("old_tier", "int"), ("new_tier", "int"), ("rule", "int"),
                   ("reason", "text")]


def write_scores(rows, *, scored_at, expected=None):
    """Write the score fields (and scored_at) of many accounts, rows being
    (pk, *SCORE_FIELDS values). Returns the ids of `expected` written (below).

    `expected`: {pk: (has_recent_engagement, surging_topics)} as the recompute read them,
    for the accounts whose write announces something (a first engagement, a topic that
    starts surging). Their rows are written only where both fields are still as read: a
    compare-and-set. Of two recomputes racing, one writes the change and announces it; the
    other finds the row changed (PostgreSQL re-checks the condition on the row the first
    committed) and must look again (`scoring.writes`).

    One statement, the rows sent in the order of their ids. That makes two recomputes
    writing the same accounts likely to lock them in the same order, but PostgreSQL does not
    promise the order in which an `UPDATE … FROM` visits its rows (the plan decides: a hash
    join follows the table's physical order), so two of them can still deadlock: the
    recompute's task then hands the job back and retries it (`tiers.tasks.run_recompute`),
    which reads the scores again."""
    if not rows:
        return set()
    expected = expected or {}
    rows = sorted((*row, *expected.get(row[0], (None, None))) for row in rows)
    accounts, pk = table(Account), column(Account, "id")
    sets = ", ".join(f"{column(Account, name)} = v.{name}" for name in SCORE_FIELDS)
    sets += f", {column(Account, 'scored_at')} = %s"
    columns = [*SCORE_COLUMNS, ("was_engaged", "bool"), ("was_topics", "jsonb")]
    topics = column(Account, "surging_topics")
    # A row with no expectation (was_engaged NULL) is written as it is.
    where = (f" AND (v.was_engaged IS NULL OR ("
             f"{accounts}.{column(Account, 'has_recent_engagement')} = v.was_engaged"
             f" AND {json_equals(f'{accounts}.{topics}', 'v.was_topics')}))")
    # (SQLite's RETURNING names only the target table: every id, those expected kept.)
    returning = f" RETURNING {accounts}.{pk}" if expected else ""
    written = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(columns, rows, 1):
            cursor.execute(f"{cte} UPDATE {accounts} SET {sets} FROM v WHERE {accounts}.{pk} "
                           f"= v.id{where}{returning}", [*params, scored_at])
            if returning:
                written.update(pk for pk, in cursor.fetchall() if pk in expected)
    return written


def write_committees(rows):
    """Write the buying-committee fields of many accounts, rows being (pk, contact fit,
    coverage, missing roles); scored_at stays: these follow contacts, not the scores."""
    if not rows:
        return
    accounts, pk = table(Account), column(Account, "id")
    sets = ", ".join(f"{column(Account, name)} = v.{name}" for name in COMMITTEE_FIELDS)
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(COMMITTEE_COLUMNS, rows):
            cursor.execute(f"{cte} UPDATE {accounts} SET {sets} FROM v "
                           f"WHERE {accounts}.{pk} = v.id", params)


PERSONA_COLUMNS = [("title", "text"), ("job_function", "text"), ("seniority", "text")]


def write_personas(rows):
    """Give the contacts not set by hand the persona of their title, rows being (title, job
    function, seniority), one per distinct title; only contacts whose persona differs are
    written. Returns the ids of their accounts."""
    contacts = table(Contact)
    title, function = column(Contact, "title"), column(Contact, "job_function")
    seniority, overridden = column(Contact, "seniority"), column(Contact, "persona_overridden")
    account = column(Contact, "account")
    changed = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(PERSONA_COLUMNS, rows):
            cursor.execute(
                f"{cte} UPDATE {contacts} SET {function} = v.job_function, "
                f"{seniority} = v.seniority FROM v WHERE {contacts}.{title} = v.title "
                f"AND NOT {contacts}.{overridden} AND ({contacts}.{function} <> v.job_function "
                f"OR {contacts}.{seniority} <> v.seniority) RETURNING {contacts}.{account}",
                params)
            changed.update(row[0] for row in cursor.fetchall())
    return changed


def move_tiers(moves):
    """Move accounts between tiers: moves = [(pk, old tier id, old rule id, new tier id, new
    rule id)], each a compare-and-set on (tier, rule, unlocked): an account moved or locked
    meanwhile is left alone. Returns the ids moved."""
    accounts, pk = table(Account), column(Account, "id")
    tier, rule = column(Account, "tier"), column(Account, "tier_rule")
    locked = column(Account, "tier_locked")
    same = null_safe_equals()
    moved = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(MOVE_COLUMNS, moves):
            cursor.execute(
                f"{cte} UPDATE {accounts} SET {tier} = v.new_tier, {rule} = v.new_rule "
                f"FROM v WHERE {accounts}.{pk} = v.id AND NOT {accounts}.{locked} "
                f"AND {accounts}.{tier} {same} v.old_tier "
                f"AND {accounts}.{rule} {same} v.old_rule RETURNING {accounts}.{pk}", params)
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def insert_tier_history(rows, *, cause, by):
    """One TierAssignment per tier move, rows = [(account id, old tier id, new tier id, rule
    id, reason)], with the scores the account has as it is written. Returns {account id:
    assignment id}."""
    history, accounts = table(TierAssignment), table(Account)
    names = ("account", "old_tier", "new_tier", "rule", "cause", "reason", "fit_score",
             "intent_score", "engagement_score", "by", "created_at")
    insert = ", ".join(column(TierAssignment, name) for name in names)
    scores = ", ".join(f"a.{column(Account, name)}" for name in
                       ("fit_score", "intent_score", "engagement_score"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    written = {}
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(HISTORY_COLUMNS, rows, 3):
            cursor.execute(
                f"{cte} INSERT INTO {history} ({insert}) SELECT v.id, v.old_tier, v.new_tier, "
                f"v.rule, %s, v.reason, {scores}, %s, %s FROM v JOIN {accounts} a "
                f"ON a.{column(Account, 'id')} = v.id "
                f"RETURNING {column(TierAssignment, 'id')}, {column(TierAssignment, 'account')}",
                [*params, cause, by.pk if by else None, now])
            written.update((account_id, pk) for pk, account_id in cursor.fetchall())
    return written
