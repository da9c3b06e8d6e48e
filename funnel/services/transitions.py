"""The funnel's state machine: transitions recorded for accounts (ABM) and leads (demand
generation), each entity moving along its side's path with a compare-and-set on its state
(stage, version), its history appended in the same transaction."""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abmcrm.core.db import rowsets

from .. import events
from ..models import AccountFunnel, Lead, Stage, StageTransition
from ..sql import moves as moves_sql

CONCURRENT_MOVE = gettext_lazy(
    "{entity} moved while this request was processed (another request recorded a transition "
    "first); nothing was recorded for it. Read its current stage and send the transition "
    "again.")


# Transitions -------------------------------------------------------------------------------

@dataclass
class EntityState:
    """An entity's funnel state as read, then as it becomes along the batch."""

    stage: Stage | None = None
    previous: Stage | None = None
    version: int = 0
    entered_at: object = None
    changed_at: object = None
    entry_channel: str = ""
    entry_campaign_id: int | None = None
    exists: bool = False
    old_stage_id: int | None = None
    old_version: int = 0
    rows: list = field(default_factory=list)
    # {stage slot: the time of its first move there in this batch}: the first-reached
    # columns the compare-and-set fills if they are still empty.
    reached: dict = field(default_factory=dict)
    # What its moves to the built-in won stage in this batch add to its `won_amount`.
    won_amount: object = 0


@dataclass
class TransitionBatch:
    created: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    results: list = field(default_factory=list)
    # position → the StageTransition found, or the id of the one created (the batch writes
    # rows, not instances): `transition(position)` answers a single item.
    transitions: dict = field(default_factory=dict)
    conflicts: set = field(default_factory=set)

    def transition(self, position):
        """The StageTransition recorded or found at `position`."""
        found = self.transitions[position]
        if isinstance(found, StageTransition):
            return found
        return StageTransition.objects.select_related("from_stage", "to_stage").get(pk=found)

    def as_dict(self):
        return {"created": self.created, "updated": 0, "unchanged": self.unchanged,
                "errors": sorted(self.errors, key=lambda e: e["index"]),
                "results": sorted(self.results, key=lambda r: r["index"])}


def _entity_label(data):
    if data.get("account") is not None:
        return _("Account %(domain)s") % {"domain": data["account"].domain}
    return _("Lead %(email)s") % {"email": data["lead"].email}


def _load_states(rows):
    """{("account"|"lead", pk): EntityState} for the entities of the batch: accounts in one
    query; leads as read (with their state) when their references were resolved."""
    account_ids = {d["account"].pk for _, d in rows if d.get("account") is not None}
    lead_ids = {d["lead"].pk for _, d in rows if d.get("lead") is not None}
    stages = {s.pk: s for s in Stage.objects.all()}
    states = {("account", pk): EntityState() for pk in account_ids}
    states.update({("lead", pk): EntityState() for pk in lead_ids})
    found = []
    if account_ids:
        found += [("account", s.pk, s) for s in AccountFunnel.objects.filter(
            account_id__in=account_ids)]
    if lead_ids:
        # The leads were read with their state when their references were resolved.
        found += [("lead", d["lead"].pk, d["lead"]) for _, d in rows
                  if d.get("lead") is not None]
    for kind, pk, row in found:
        state = states[(kind, pk)]
        state.exists = True
        state.stage = stages.get(row.stage_id)
        state.previous = stages.get(row.previous_stage_id)
        state.version = state.old_version = row.version
        state.old_stage_id = row.stage_id
        state.entered_at, state.changed_at = row.entered_at, row.stage_changed_at
        if kind == "account":
            state.entry_channel, state.entry_campaign_id = row.entry_channel, row.entry_campaign_id
    return states


def _check(data, state):
    """The refusals that depend on the entity's current stage. Returns {field: [msg]} or None."""
    current, to = state.stage, data["to_stage"]

    def named(**values):
        # The entity's label and where it stands, translated only for a refusal: a batch of
        # 10,000 valid moves would otherwise translate them 20,000 times.
        where = (_("at “%(stage)s”") % {"stage": current.slug} if current
                 else _("not in the funnel yet"))
        return {"name": _entity_label(data), "where": where, **values}

    if data["from_stage"] is not None and data["from_stage"] != current:
        return {"from_stage": [_("%(name)s is %(where)s, not at “%(stage)s”.")
                               % named(stage=data["from_stage"].slug)]}
    if current is not None and current.is_terminal and not data["reopen"]:
        return {"to_stage": [_("%(name)s is %(where)s (closed). To move it again, send "
                               "\"reopen\": true.") % named()]}
    if data["reopen"] and (current is None or not current.is_terminal):
        return {"reopen": [_("Only a won or lost entity can be reopened; %(name)s is "
                             "%(where)s.") % named()]}
    if current is not None and to == current:
        return {"to_stage": [_("%(name)s is already at “%(stage)s”.")
                             % named(stage=to.slug)]}
    if current is None and to.is_lost:
        return {"to_stage": [_("%(name)s is not in the funnel yet, so it can't be lost.")
                             % named()]}
    if state.changed_at is not None and data["occurred_at"] < state.changed_at:
        return {"occurred_at": [
            _("%(when)s is before the last transition of %(name)s (%(last)s). Out-of-order "
              "history is refused: send each entity's transitions oldest first.")
            % named(when=data["occurred_at"].isoformat(), last=state.changed_at.isoformat())]}
    return None


def _apply(state, data):
    if state.entered_at is None:
        state.entered_at = data["occurred_at"]
        state.entry_channel = data["channel"] or (
            data["campaign"].channel if data["campaign"] else "")
        state.entry_campaign_id = data["campaign"].pk if data["campaign"] else None
    state.previous, state.stage = state.stage, data["to_stage"]
    state.changed_at = data["occurred_at"]
    if state.stage.slot:
        state.reached.setdefault(state.stage.slot, state.changed_at)
    if state.stage.slot == "won" and data["amount"] is not None:
        state.won_amount += data["amount"]
    state.version += 1


def _insert_transitions(rows, *, user, now):
    """Append the validated transitions `rows` (data dicts); returns their ids in order.

    On PostgreSQL one INSERT … SELECT from a rowset (`sql.moves.insert_transitions`): a batch
    of 10,000 as model instances through bulk_create cost more than validating it. SQLite's
    INSERT … RETURNING answers in no defined order, so there bulk_create assigns the ids."""
    recorded_by = user.pk if getattr(user, "pk", None) else None
    if connection.vendor == "postgresql":
        return moves_sql.insert_transitions([
            [data["account"].pk if data.get("account") is not None else None,
             data["lead"].pk if data.get("lead") is not None else None,
             data["from_stage"].pk if data["from_stage"] is not None else None,
             data["to_stage"].pk, data["occurred_at"], data["channel"],
             data["campaign"].pk if data["campaign"] is not None else None, data["amount"],
             data["reopen"], data["external_id"]] for data in rows],
            recorded_by=recorded_by, now=now)
    created = StageTransition.objects.bulk_create([StageTransition(
        account=data.get("account"), lead=data.get("lead"), from_stage=data["from_stage"],
        to_stage=data["to_stage"], occurred_at=data["occurred_at"], channel=data["channel"],
        campaign=data["campaign"], amount=data["amount"], is_reopen=data["reopen"],
        external_id=data["external_id"], recorded_by_id=recorded_by, created_at=now)
        for data in rows])
    return [t.pk for t in created]


def states_cas_update(kind, states):
    """Compare-and-set the moved entities' states (`sql.moves.cas_update`); returns the keys
    of the entities updated."""
    model = AccountFunnel if kind == "account" else Lead
    rows = []
    for (_kind, entity_pk), st in states.items():
        row = [entity_pk, st.old_stage_id or 0, st.old_version, st.stage.pk,
               st.previous.pk if st.previous else None, st.version, st.entered_at,
               st.changed_at]
        if kind == "account":
            row += [st.entry_channel, st.entry_campaign_id]
        row += [st.reached.get(slot) for slot in model.SLOTS]
        row.append(st.won_amount)
        rows.append(row)
    return {(kind, pk) for pk in moves_sql.cas_update(kind, rows)}


def transitions_apply(*, rows, user):
    """Record validated transitions (a list of (position, data) in the order given).

    Each entity's rows are checked against its current stage as it moves along the batch;
    then every moved entity's state is compare-and-set in bulk and its transitions written,
    all in one transaction. An entity that another request moved meanwhile records nothing
    (per-item error, position in `conflicts`). A row whose `external_id` is already recorded
    records nothing and answers the first result."""
    batch = TransitionBatch()
    externals = [d["external_id"] for _, d in rows if d["external_id"]]
    existing = {t.external_id: t for t in StageTransition.objects.filter(
        external_id__in=rowsets.texts(externals))} if externals else {}
    states = _load_states(rows)
    seen_external = {}
    for position, data in rows:
        ext = data["external_id"]
        if ext and ext in existing:
            batch.unchanged += 1
            batch.transitions[position] = existing[ext]
            batch.results.append({"index": position, "id": existing[ext].pk, "created": False})
            continue
        if ext and ext in seen_external:
            batch.errors.append({"index": position, "errors": {"external_id": [
                _("Duplicate external_id in this request (first at %(position)s).")
                % {"position": seen_external[ext]}]}})

            continue
        key = ("account", data["account"].pk) if data.get("account") is not None else (
            "lead", data["lead"].pk)
        state = states[key]
        errors = _check(data, state)
        if errors:
            batch.errors.append({"index": position, "errors": errors})
            continue
        if ext:
            seen_external[ext] = position
        data["from_stage"] = state.stage
        _apply(state, data)
        state.rows.append((position, data))
    moved = {key: st for key, st in states.items() if st.rows}
    if not moved:
        return batch
    now = timezone.now()
    with transaction.atomic():
        missing = [pk for (kind, pk), st in moved.items() if kind == "account" and not st.exists]
        if missing:
            AccountFunnel.objects.bulk_create(
                [AccountFunnel(account_id=pk) for pk in missing], ignore_conflicts=True)
        won = set()
        for kind in ("account", "lead"):
            of_kind = {key: st for key, st in moved.items() if key[0] == kind}
            if of_kind:
                won |= states_cas_update(kind, of_kind)
        new = [(position, data) for key, st in moved.items() if key in won
               for position, data in st.rows]
        ids = _insert_transitions([data for _, data in new], user=user, now=now)
        events.transitions_emit([
            (data["account"].pk if data.get("account") is not None
             else data["lead"].account_id, data["lead"].pk if data.get("lead") is not None
             else None, data["from_stage"], data["to_stage"], data["occurred_at"],
             data["channel"], data["amount"])
            for _, data in new])
    for (position, _data), pk in zip(new, ids, strict=True):
        batch.created += 1
        batch.transitions[position] = pk
        batch.results.append({"index": position, "id": pk, "created": True})
    lost = [(position, data) for key, st in moved.items() if key not in won
            for position, data in st.rows]
    if lost:
        # The concurrent request may have recorded these very transitions (a retried POST):
        # then they answer its results.
        found = {t.external_id: t for t in StageTransition.objects.filter(
            external_id__in=[d["external_id"] for _, d in lost if d["external_id"]])}
        for position, data in lost:
            if data["external_id"] in found:
                first = found[data["external_id"]]
                batch.unchanged += 1
                batch.transitions[position] = first
                batch.results.append({"index": position, "id": first.pk, "created": False})
            else:
                batch.conflicts.add(position)
                batch.errors.append({"index": position, "errors": {"non_field_errors": [
                    CONCURRENT_MOVE.format(entity=_entity_label(data))]}})
    return batch
