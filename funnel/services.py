"""Writes of the funnel app: transitions (the one state-machine service), leads, quotas."""

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from abmcrm.core import ingest
from abmcrm.core.db import rowsets
from abmcrm.core.exceptions import InvalidInput
from tiers import selectors as tier_selectors
from tiers.domains import domain_of_email
from tiers.models import Account

from . import conf, selectors
from .models import AccountFunnel, Lead, Stage, StageTransition
from .serializers import LeadRowSerializer, TransitionRowSerializer

logger = logging.getLogger(__name__)

CONCURRENT_MOVE = ("{entity} moved while this request was processed (another request recorded "
                   "a transition first); nothing was recorded for it. Read its current stage "
                   "and send the transition again.")


# Transitions -------------------------------------------------------------------------------

@dataclass
class _State:
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


@dataclass
class TransitionBatch:
    created: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    results: list = field(default_factory=list)
    # position → the StageTransition created or found (for single-item answers)
    transitions: dict = field(default_factory=dict)
    conflicts: set = field(default_factory=set)

    def as_dict(self):
        return {"created": self.created, "updated": 0, "unchanged": self.unchanged,
                "errors": sorted(self.errors, key=lambda e: e["index"]),
                "results": sorted(self.results, key=lambda r: r["index"])}


def _entity_label(data):
    if data.get("account") is not None:
        return f"Account {data['account'].domain}"
    return f"Lead {data['lead'].email}"


def _load_states(rows):
    """{("account"|"lead", pk): _State} for the entities of the batch: accounts in one
    query; leads as read (with their state) when their references were resolved."""
    account_ids = {d["account"].pk for _, d in rows if d.get("account") is not None}
    lead_ids = {d["lead"].pk for _, d in rows if d.get("lead") is not None}
    stages = {s.pk: s for s in Stage.objects.all()}
    states = {("account", pk): _State() for pk in account_ids}
    states.update({("lead", pk): _State() for pk in lead_ids})
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
    name = _entity_label(data)
    where = f"at “{current.slug}”" if current else "not in the funnel yet"
    if data["from_stage"] is not None and data["from_stage"] != current:
        return {"from_stage": [f"{name} is {where}, not at “{data['from_stage'].slug}”."]}
    if current is not None and current.is_terminal and not data["reopen"]:
        return {"to_stage": [f"{name} is {where} (closed). To move it again, send "
                             "\"reopen\": true."]}
    if data["reopen"] and (current is None or not current.is_terminal):
        return {"reopen": [f"Only a won or lost entity can be reopened; {name} is {where}."]}
    if current is not None and to == current:
        return {"to_stage": [f"{name} is already at “{to.slug}”."]}
    if current is None and to.is_lost:
        return {"to_stage": [f"{name} is not in the funnel yet, so it can't be lost."]}
    if state.changed_at is not None and data["occurred_at"] < state.changed_at:
        return {"occurred_at": [
            f"{data['occurred_at'].isoformat()} is before {name}'s last transition "
            f"({state.changed_at.isoformat()}). Out-of-order history is refused: send each "
            "entity's transitions oldest first."]}
    return None


def _apply(state, data):
    if state.entered_at is None:
        state.entered_at = data["occurred_at"]
        state.entry_channel = data["channel"] or (
            data["campaign"].channel if data["campaign"] else "")
        state.entry_campaign_id = data["campaign"].pk if data["campaign"] else None
    state.previous, state.stage = state.stage, data["to_stage"]
    state.changed_at = data["occurred_at"]
    state.version += 1


def _cas_update(kind, states):
    """Compare-and-set the funnel state of many entities: a row is updated only if its stage
    and version are still what we read. Returns the keys of the entities updated. One
    UPDATE … FROM a `rowsets` batch (the whole set on PostgreSQL)."""
    table = AccountFunnel._meta.db_table if kind == "account" else Lead._meta.db_table
    pk = "account_id" if kind == "account" else "id"
    columns = [("id", "int"), ("old_stage", "int"), ("old_version", "int"),
               ("stage_id", "int"), ("previous_stage_id", "int"), ("version", "int"),
               ("entered_at", "ts"), ("stage_changed_at", "ts")]
    if kind == "account":
        columns += [("entry_channel", "text"), ("entry_campaign_id", "int")]
    rows = []
    for (_, entity_pk), st in states.items():
        row = [entity_pk, st.old_stage_id or 0, st.old_version, st.stage.pk,
               st.previous.pk if st.previous else None, st.version, st.entered_at,
               st.changed_at]
        if kind == "account":
            row += [st.entry_channel, st.entry_campaign_id]
        rows.append(row)
    sets = ", ".join(f"{name} = v.{name}" for name, _ in columns[3:])
    updated = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(columns, rows):
            cursor.execute(
                f"{cte} UPDATE {table} SET {sets} FROM v WHERE {table}.{pk} = v.id "
                f"AND {table}.version = v.old_version "
                f"AND COALESCE({table}.stage_id, 0) = v.old_stage RETURNING {table}.{pk}",
                params)
            updated.update((kind, row[0]) for row in cursor.fetchall())
    return updated


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
        external_id__in=externals)} if externals else {}
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
                f"Duplicate external_id in this request (first at {seen_external[ext]})."]}})
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
                won |= _cas_update(kind, of_kind)
        new = []
        for key, st in moved.items():
            if key not in won:
                continue
            for position, data in st.rows:
                new.append((position, StageTransition(
                    account=data.get("account"), lead=data.get("lead"),
                    from_stage=data["from_stage"], to_stage=data["to_stage"],
                    occurred_at=data["occurred_at"], channel=data["channel"],
                    campaign=data["campaign"], amount=data["amount"],
                    is_reopen=data["reopen"], external_id=data["external_id"],
                    recorded_by=user if getattr(user, "pk", None) else None, created_at=now,
                )))
        StageTransition.objects.bulk_create([t for _, t in new])
    for position, created in new:
        batch.created += 1
        batch.transitions[position] = created
        batch.results.append({"index": position, "id": created.pk, "created": True})
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


def _transition_context(items):
    dicts = [item for item in items if isinstance(item, dict)]
    return {
        "accounts_by_ref": tier_selectors.accounts_by_ref(
            [i.get("account") for i in dicts], only=("id", "domain", "external_id", "owner")),
        "leads_by_ref": selectors.leads_by_ref(
            [i.get("lead") for i in dicts],
            only=("id", "email", "external_id", "stage_id", "previous_stage_id", "version",
                  "entered_at", "stage_changed_at")),
        "campaigns_by_ref": selectors.campaigns_by_ref([i.get("campaign") for i in dicts]),
        "stages": selectors.stage_map(),
    }


def _validate(items, serializer):
    valid, errors = [], []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": position,
                           "errors": {"non_field_errors": ["Expected an object."]}})
            continue
        try:
            valid.append((position, serializer.run_validation(item)))
        except Exception as exc:  # DRF ValidationError
            detail = getattr(exc, "detail", None)
            if detail is None:
                raise
            errors.append({"index": position, "errors": ingest.flatten_errors(detail)})
    return valid, errors


def transitions_record(*, items, user):
    """The transitions endpoint's service: validate and record up to 10,000 transitions.
    Returns a TransitionBatch with per-item results and errors (by `index`)."""
    if not isinstance(items, list):
        raise InvalidInput("Expected a transition object or a JSON list of them.")
    if len(items) > ingest.MAX_BULK_ITEMS:
        raise InvalidInput(
            f"Too many items: {len(items)}; send at most {ingest.MAX_BULK_ITEMS} per request.")
    for attempt in range(2):
        serializer = TransitionRowSerializer(context=_transition_context(items))
        valid, errors = _validate(items, serializer)
        try:
            batch = transitions_apply(rows=valid, user=user)
        except IntegrityError:
            # Another request recorded one of these external ids between our read and our
            # write: a second pass answers them as already recorded.
            if attempt:
                raise
            logger.info("transitions: retrying after a concurrent insert")
            continue
        batch.errors.extend(errors)
        return batch


AUTO_MOVE_BATCH = 5_000


def accounts_move(*, moves, to_stage, only_from=None, channel="", campaign=None, user=None):
    """Move many accounts at once: `moves` = [(account id, occurred_at)]; an account listed
    twice moves once, at its first time. Returns the ids of the accounts moved.

    The same rules as a transition sent to the API without `from_stage` (`_check`), decided
    here from one read of the current stages: an account not at one of `only_from` (None:
    not in the funnel) is skipped; one already at `to_stage`, closed, or not in the funnel
    when `to_stage` is the lost exit is refused; a time before the account's last transition
    becomes that time, so that history stays in order. Then, set-based rather than a model
    instance a row (a first recompute moves tens of thousands of accounts): the accounts not
    in the funnel get their state row by one INSERT … ON CONFLICT DO NOTHING, the others a
    compare-and-set on (stage, version), and the winners' transitions are appended by one
    INSERT … SELECT. An account created or moved by someone else meanwhile loses and records
    nothing, as in `transitions_apply`."""
    by_slug = selectors.stage_map()
    stage, stages = by_slug[to_stage], {s.pk: s for s in by_slug.values()}
    wanted = {}
    for account_id, occurred_at in moves:
        wanted.setdefault(account_id, occurred_at)
    ids = list(wanted)
    moved = []
    for start in range(0, len(ids), AUTO_MOVE_BATCH):
        batch = {pk: wanted[pk] for pk in ids[start:start + AUTO_MOVE_BATCH]}
        moved += _accounts_move_batch(batch, stage, stages, only_from, channel, campaign,
                                      user)
    return moved


def _accounts_move_batch(wanted, stage, stages, only_from, channel, campaign, user):
    current = {row[0]: row for row in AccountFunnel.objects.filter(
        account_id__in=rowsets.ids(wanted)).values_list(
            "account_id", "stage_id", "version", "entered_at", "stage_changed_at",
            "entry_channel", "entry_campaign_id")}
    entry_channel = channel or (campaign.channel if campaign else "")
    campaign_id = campaign.pk if campaign else None
    fresh, states, refused = [], {}, 0
    for pk, occurred_at in wanted.items():
        row = current.get(pk)
        at = stages.get(row[1]) if row and row[1] else None
        if only_from is not None and (at.slug if at else None) not in only_from:
            continue
        if at == stage or (at is not None and at.is_terminal) or (at is None and stage.is_lost):
            refused += 1
            continue
        if row is None:
            fresh.append((pk, occurred_at))
            continue
        if row[4] is not None and occurred_at < row[4]:
            occurred_at = row[4]
        first = row[3] is None
        states[("account", pk)] = _State(
            stage=stage, previous=at, version=row[2] + 1, old_version=row[2],
            old_stage_id=row[1], changed_at=occurred_at,
            entered_at=occurred_at if first else row[3],
            entry_channel=entry_channel if first else row[5],
            entry_campaign_id=campaign_id if first else row[6], exists=True)
    if not fresh and not states:
        return []
    recorded_by = user.pk if getattr(user, "pk", None) else None
    with transaction.atomic():
        moved = []
        if connection.vendor == "postgresql":
            moved += _enter_accounts_recorded(fresh, stage, entry_channel, channel, campaign_id,
                                              recorded_by)
            transitions = []
        else:
            transitions = [(pk, None, at) for pk, at in
                           _enter_accounts(fresh, stage, entry_channel, campaign_id)]
        for key in _cas_update("account", states) if states else ():
            state = states[key]
            transitions.append((key[1], state.previous.pk if state.previous else None,
                                state.changed_at))
        _append_transitions(transitions, stage, channel, campaign_id, recorded_by)
    moved += [pk for pk, _, _ in transitions]
    lost = len(fresh) + len(states) - len(moved)
    if refused or lost:
        logger.info("funnel: %s automatic moves to %s refused (already there or closed), %s "
                    "lost to a concurrent move", refused, stage.slug, lost)
    return moved


def _enter_accounts(entries, stage, entry_channel, campaign_id):
    """Insert the funnel state of accounts entering it at `stage`: entries = [(account id,
    occurred_at)]. Returns the entries whose row was inserted (an account whose row someone
    else created meanwhile is left out: it lost the race)."""
    table = AccountFunnel._meta.db_table
    inserted = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("at", "ts")], entries, 3):
            cursor.execute(
                f"{cte} INSERT INTO {table} (account_id, stage_id, previous_stage_id, version, "
                "entered_at, stage_changed_at, entry_channel, entry_campaign_id) "
                "SELECT v.id, %s, NULL, 1, v.at, v.at, %s, %s FROM v WHERE true "
                "ON CONFLICT (account_id) DO NOTHING RETURNING account_id",
                [*params, stage.pk, entry_channel, campaign_id])
            inserted.update(row[0] for row in cursor.fetchall())
    return [(pk, at) for pk, at in entries if pk in inserted]


def _enter_accounts_recorded(entries, stage, entry_channel, channel, campaign_id, recorded_by):
    """`_enter_accounts` and `_append_transitions` of the accounts entered, as one statement
    (PostgreSQL: the INSERT of the state rows feeds the INSERT of the transitions): a first
    recompute enters tens of thousands of accounts, and the rows then travel and are parsed
    once. Returns the ids of the accounts entered."""
    state, transitions = AccountFunnel._meta.db_table, StageTransition._meta.db_table
    entered = []
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("at", "ts")], entries):
            cursor.execute(
                f"{cte}, entered AS (INSERT INTO {state} (account_id, stage_id, "
                "previous_stage_id, version, entered_at, stage_changed_at, entry_channel, "
                "entry_campaign_id) "
                "SELECT v.id, %s, NULL, 1, v.at, v.at, %s, %s FROM v "
                "ON CONFLICT (account_id) DO NOTHING RETURNING account_id, entered_at) "
                f"INSERT INTO {transitions} (account_id, lead_id, from_stage_id, to_stage_id, "
                "occurred_at, channel, campaign_id, amount, is_reopen, recorded_by_id, "
                "external_id, created_at) "
                "SELECT e.account_id, NULL, NULL, %s, e.entered_at, %s, %s, NULL, false, %s, "
                "NULL, %s FROM entered e RETURNING account_id",
                [*params, stage.pk, entry_channel, campaign_id, stage.pk, channel, campaign_id,
                 recorded_by, timezone.now()])
            entered += [row[0] for row in cursor.fetchall()]
    return entered


def _append_transitions(rows, stage, channel, campaign_id, recorded_by):
    """Append the transitions of accounts moved to `stage`: rows = [(account id, from stage
    id, occurred_at)], in one INSERT … SELECT per batch."""
    table = StageTransition._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches([("id", "int"), ("from_stage", "int"),
                                            ("at", "ts")], rows, 6):
            cursor.execute(
                f"{cte} INSERT INTO {table} (account_id, lead_id, from_stage_id, to_stage_id, "
                "occurred_at, channel, campaign_id, amount, is_reopen, recorded_by_id, "
                "external_id, created_at) "
                "SELECT v.id, NULL, v.from_stage, %s, v.at, %s, %s, NULL, %s, %s, NULL, %s "
                "FROM v",
                [*params, stage.pk, channel, campaign_id, False, recorded_by,
                 connection.ops.adapt_datetimefield_value(now)])


# Leads -------------------------------------------------------------------------------------

LEAD_FIELDS = ("first_name", "last_name", "company", "account", "channel", "campaign",
               "external_id")


def _entry_stage():
    path = selectors.side_path(Stage.Side.DEMAND_GEN)
    return path[0] if path and conf.settings.ABMCRM_FUNNEL_LEAD_ENTERS_FIRST_STAGE else None


def _match_accounts(emails):
    """{e-mail: account} by e-mail domain, one query."""
    domains = {email: domain_of_email(email) for email in emails}
    accounts = {a.domain: a for a in Account.objects.filter(
        domain__in={d for d in domains.values() if d}).only("id", "domain")}
    return {email: accounts[d] for email, d in domains.items() if d in accounts}


def _enter_leads(leads, user):
    """New leads enter the demand-gen side's first stage at their creation time."""
    stage = _entry_stage()
    if stage is None or not leads:
        return
    StageTransition.objects.bulk_create([
        StageTransition(lead=lead, to_stage=stage, occurred_at=lead.created_at,
                        channel=lead.channel, campaign=lead.campaign,
                        recorded_by=user if getattr(user, "pk", None) else None)
        for lead in leads
    ], batch_size=2000)


def _lead_entry_fields(created_at):
    stage = _entry_stage()
    if stage is None:
        return {}
    return {"stage": stage, "version": 1, "entered_at": created_at,
            "stage_changed_at": created_at}


@transaction.atomic
def lead_create(*, email, created_at=None, user=None, **fields):
    email = email.strip().lower()
    created_at = created_at or timezone.now()
    if fields.get("account") is None:
        fields["account"] = _match_accounts([email]).get(email)
    lead = Lead.objects.create(email=email, created_at=created_at,
                               **_lead_entry_fields(created_at), **fields)
    _enter_leads([lead], user)
    return lead


def lead_update(*, lead, **fields):
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
        if "account" not in fields and fields["email"] != lead.email:
            fields["account"] = _match_accounts([fields["email"]]).get(fields["email"])
    for name, value in fields.items():
        setattr(lead, name, value)
    lead.save()
    return lead


def lead_bulk_upsert(*, rows, user=None):
    """Upsert leads by e-mail. New leads are matched to an account by e-mail domain (unless
    given) and enter the funnel. Returns (created, updated, unchanged, errors)."""
    errors, seen, unique = [], {}, []
    for position, data in rows:
        if data["email"] in seen:
            errors.append((position, {"email": [
                f"Duplicate e-mail in this batch (first at {seen[data['email']]})."]}))
            continue
        seen[data["email"]] = position
        unique.append((position, data))
    existing = {lead.email: lead for lead in Lead.objects.filter(email__in=list(seen))}
    matched = _match_accounts([d["email"] for _, d in unique
                               if d["email"] not in existing and not d.get("account")])
    now = timezone.now()
    to_create, to_update, unchanged = [], {}, 0
    for _, data in unique:
        lead = existing.get(data["email"])
        if lead is None:
            created_at = data.get("created_at") or now
            fields = {f: data[f] for f in LEAD_FIELDS if f in data}
            fields.setdefault("account", matched.get(data["email"]))
            to_create.append(Lead(email=data["email"], created_at=created_at,
                                  **_lead_entry_fields(created_at), **fields))
            continue
        if not ingest.stage_changes(lead, data, LEAD_FIELDS, now=now, pending=to_update):
            unchanged += 1
    with transaction.atomic():
        Lead.objects.bulk_create(to_create, batch_size=1000)
        ingest.write_changes(Lead, to_update)
        _enter_leads(to_create, user)
    return len(to_create), sum(map(len, to_update.values())), unchanged, errors


class LeadIngester(ingest.Ingester):
    kind = "leads"
    label = "Leads"
    serializer_class = LeadRowSerializer
    permission = "funnel.add_lead"
    columns = ("email", "first_name", "last_name", "company", "account", "channel",
               "campaign", "created_at", "external_id")
    required_columns = ("email",)

    def prefetch(self, items):
        dicts = [item for item in items if isinstance(item, dict)]
        return {
            "accounts_by_ref": tier_selectors.accounts_by_ref(
                [i.get("account") for i in dicts], only=("id", "domain", "external_id")),
            "campaigns_by_ref": selectors.campaigns_by_ref([i.get("campaign") for i in dicts]),
        }

    def write(self, rows, *, user):
        return lead_bulk_upsert(rows=rows, user=user)


class TransitionIngester(ingest.Ingester):
    """CSV import of transitions: the same checks as the API, rows applied in file order."""

    kind = "transitions"
    label = "Stage transitions"
    serializer_class = TransitionRowSerializer
    permission = "funnel.add_stagetransition"
    columns = ("account", "lead", "to_stage", "from_stage", "occurred_at", "channel",
               "campaign", "amount", "external_id", "reopen")
    required_columns = ("to_stage",)

    def prefetch(self, items):
        return _transition_context(items)

    def write(self, rows, *, user):
        batch = transitions_apply(rows=rows, user=user)
        return (batch.created, 0, batch.unchanged,
                [(e["index"], e["errors"]) for e in batch.errors])
