"""The funnel's set-based writes: compare-and-set of many entities' states, accounts entering
the funnel and transitions appended, one statement a batch. A first recompute moves tens of
thousands of accounts at once; model instances a row would cost more than the database's
own work. Table and column names come from the models' `_meta`.

The state rows' first-reached columns (`reached_<slot>_at`, what the report reads) are written
by the same statement as the move: a compare-and-set keeps the earlier time (history is
appended in order, so a column already set is never later), an entering account's row is
inserted with it."""

from django.db import connection
from django.utils import timezone

from abmcrm.core.db import rowsets
from abmcrm.core.db.names import column, columns, table

from ..models import AccountFunnel, Lead, StageTransition

STATE_FIELDS = ("stage", "previous_stage", "version", "entered_at", "stage_changed_at")
ACCOUNT_ENTRY_FIELDS = ("entry_channel", "entry_campaign")
TRANSITION_FIELDS = ("account", "lead", "from_stage", "to_stage", "occurred_at", "channel",
                     "campaign", "amount", "is_reopen", "recorded_by", "external_id",
                     "created_at")
# TRANSITION_FIELDS but the two a whole batch shares (recorded_by, created_at), with their
# rowsets types: the rows of `insert_transitions`.
TRANSITION_ROW = [("account", "int"), ("lead", "int"), ("from_stage", "int"),
                  ("to_stage", "int"), ("occurred_at", "ts"), ("channel", "text"),
                  ("campaign", "int"), ("amount", "numeric"), ("is_reopen", "bool"),
                  ("external_id", "text")]
_TYPES = {"stage": "int", "previous_stage": "int", "version": "int", "entered_at": "ts",
          "stage_changed_at": "ts", "entry_channel": "text", "entry_campaign": "int"}


def reached_fields(model):
    """The names of `model`'s first-reached fields, in the order `cas_update` rows end with."""
    return [f"reached_{slot}_at" for slot in model.SLOTS]


def cas_update(kind, rows):
    """Compare-and-set the funnel state of many entities of `kind` ("account" or "lead"):
    rows = [(entity id, stage id as read or 0, version as read, stage id, previous stage id,
    version, entered_at, stage_changed_at[, entry channel, entry campaign id], then the time
    it first reached each stage of `reached_fields` in these moves, or None, then the amount
    its moves to the built-in won stage add to `won_amount`)]. A row is
    updated only if its stage and version are still what was read. Returns the ids updated."""
    model = AccountFunnel if kind == "account" else Lead
    names = [*STATE_FIELDS, *(ACCOUNT_ENTRY_FIELDS if kind == "account" else ())]
    reached = reached_fields(model)
    spec = [("id", "int"), ("old_stage", "int"), ("old_version", "int"),
            *((name, _TYPES[name]) for name in names), *((name, "ts") for name in reached),
            ("won_amount", "numeric")]
    target, pk = table(model), column(model, model._meta.pk.name)
    won = column(model, "won_amount")
    sets = ", ".join([*(f"{column(model, name)} = v.{name}" for name in names),
                      *(f"{column(model, name)} = COALESCE({target}.{column(model, name)}, "
                        f"v.{name})" for name in reached),
                      f"{won} = {target}.{won} + v.won_amount"])
    version, stage = column(model, "version"), column(model, "stage")
    updated = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(spec, rows):
            cursor.execute(
                f"{cte} UPDATE {target} SET {sets} FROM v WHERE {target}.{pk} = v.id "
                f"AND {target}.{version} = v.old_version "
                f"AND COALESCE({target}.{stage}, 0) = v.old_stage RETURNING {target}.{pk}",
                params)
            updated.update(row[0] for row in cursor.fetchall())
    return updated


def _entry_insert(stage):
    """INSERT of accounts entering at `stage`: their state rows from `v(id, at, amount)`;
    parameters: stage id, entry channel, entry campaign id."""
    reached = AccountFunnel.reached_field(stage)
    names = columns(AccountFunnel, "account", *STATE_FIELDS, *ACCOUNT_ENTRY_FIELDS,
                    "won_amount", *((reached,) if reached else ()))
    won = "COALESCE(v.amount, 0)" if stage.slot == "won" else "0"
    return (f"INSERT INTO {table(AccountFunnel)} ({names}) "
            f"SELECT v.id, %s, NULL, 1, v.at, v.at, %s, %s, {won}"
            f"{', v.at' if reached else ''} FROM v")


def enter_accounts(entries, *, stage, entry_channel, campaign_id):
    """Insert the funnel state of accounts entering it at a stage: entries = [(account id,
    occurred_at, amount or None)]. Returns the ids inserted (an account whose row someone else
    created meanwhile is left out: it lost the race)."""
    account = column(AccountFunnel, "account")
    inserted = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("at", "ts"), ("amount", "numeric")],
                                           entries, 3):
            cursor.execute(f"{cte} {_entry_insert(stage)} WHERE true ON CONFLICT ({account}) "
                           f"DO NOTHING RETURNING {account}",
                           [*params, stage.pk, entry_channel, campaign_id])
            inserted.update(row[0] for row in cursor.fetchall())
    return inserted


def enter_accounts_recorded(entries, *, stage, entry_channel, channel, campaign_id,
                            recorded_by):
    """`enter_accounts` and `append_transitions` of the accounts entered, as one statement
    (PostgreSQL: the INSERT of the state rows feeds the INSERT of the transitions): the rows
    then travel and are parsed once. entries = [(account id, occurred_at, amount or None)].
    Returns the ids of the accounts entered."""
    account, entered_at = column(AccountFunnel, "account"), column(AccountFunnel, "entered_at")
    transitions = columns(StageTransition, *TRANSITION_FIELDS)
    entered = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("at", "ts"), ("amount", "numeric")],
                                           entries):
            cursor.execute(
                f"{cte}, entered AS ({_entry_insert(stage)} ON CONFLICT ({account}) DO NOTHING "
                f"RETURNING {account}, {entered_at}) "
                f"INSERT INTO {table(StageTransition)} ({transitions}) "
                f"SELECT e.{account}, NULL, NULL, %s, e.{entered_at}, %s, %s, v.amount, false, "
                f"%s, NULL, %s FROM entered e JOIN v ON v.id = e.{account} "
                f"RETURNING {column(StageTransition, 'account')}",
                [*params, stage.pk, entry_channel, campaign_id, stage.pk, channel, campaign_id,
                 recorded_by, timezone.now()])
            entered += [row[0] for row in cursor.fetchall()]
    return entered


def append_transitions(rows, *, stage_id, channel, campaign_id, recorded_by):
    """Append the transitions of accounts moved to a stage: rows = [(account id, from stage
    id, occurred_at, amount or None)], in one INSERT … SELECT a batch."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    transitions = columns(StageTransition, *TRANSITION_FIELDS)
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("from_stage", "int"),
                                            ("at", "ts"), ("amount", "numeric")], rows, 6):
            cursor.execute(
                f"{cte} INSERT INTO {table(StageTransition)} ({transitions}) "
                "SELECT v.id, NULL, v.from_stage, %s, v.at, %s, %s, v.amount, %s, %s, NULL, %s "
                "FROM v",
                [*params, stage_id, channel, campaign_id, False, recorded_by, now])


def insert_transitions(rows, *, recorded_by, now):
    """PostgreSQL: append transitions, one INSERT … SELECT a batch: rows = [the values of
    TRANSITION_ROW in order]; `recorded_by` (a user id or None) and `now` (their created_at)
    are the batch's. Returns the new ids in the order of `rows`.

    bulk_create would build a model instance a row and prepare each of its twelve values in
    Python; here the rows travel once as JSON (`rowsets`). They are inserted by their
    position, and INSERT … RETURNING answers in insertion order (as bulk_create itself relies
    on)."""
    names = columns(StageTransition, *(name for name, _ in TRANSITION_ROW), "recorded_by",
                    "created_at")
    values = ", ".join(f"v.{name}" for name, _ in TRANSITION_ROW)
    pk = column(StageTransition, "id")
    ids = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([*TRANSITION_ROW, ("n", "int")],
                                           [[*row, n] for n, row in enumerate(rows)], 2):
            cursor.execute(
                f"{cte} INSERT INTO {table(StageTransition)} ({names}) "
                f"SELECT {values}, %s, %s FROM v ORDER BY v.n RETURNING {pk}",
                [*params, recorded_by, now])
            ids += [row[0] for row in cursor.fetchall()]
    return ids
