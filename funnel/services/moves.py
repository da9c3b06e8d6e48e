"""The automatic ABM moves, many accounts at once: accounts entering a tier enter the funnel,
accounts newly engaged move to "engaged" (see `receivers`)."""

import logging

from django.db import connection, transaction

from abmcrm.core.db import rowsets

from .. import events, selectors, signals
from ..models import AccountFunnel, StageTransition
from ..sql import moves as moves_sql
from .transitions import EntityState, states_cas_update

logger = logging.getLogger(__name__)

AUTO_MOVE_BATCH = 5_000


def accounts_move(*, moves, to_stage, only_from=None, channel="", campaign=None, user=None,
                  amounts=None):
    """Move many accounts at once: `moves` = [(account id, occurred_at)]; an account listed
    twice moves once, at its first time. `amounts` ({account id: amount}) gives the amounts
    the transitions record (a deal's, when the pipeline moves an account to an opportunity or
    won stage). Returns the ids of the accounts moved.

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
                                      user, amounts or {})
    return moved


def _accounts_move_batch(wanted, stage, stages, only_from, channel, campaign, user, amounts):
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
        states[("account", pk)] = EntityState(
            stage=stage, previous=at, version=row[2] + 1, old_version=row[2],
            old_stage_id=row[1], changed_at=occurred_at,
            entered_at=occurred_at if first else row[3],
            entry_channel=entry_channel if first else row[5],
            entry_campaign_id=campaign_id if first else row[6], exists=True,
            reached={stage.slot: occurred_at} if stage.slot else {},
            won_amount=(amounts.get(pk) or 0) if stage.slot == "won" else 0)
    if not fresh and not states:
        return []
    recorded_by = user.pk if getattr(user, "pk", None) else None
    with transaction.atomic():
        moved = []
        if connection.vendor == "postgresql":
            moved += moves_sql.enter_accounts_recorded(
                [(pk, at, amounts.get(pk)) for pk, at in fresh], stage=stage,
                entry_channel=entry_channel, channel=channel, campaign_id=campaign_id,
                recorded_by=recorded_by)
            transitions = []
        else:
            inserted = moves_sql.enter_accounts([(pk, at, amounts.get(pk)) for pk, at in fresh],
                                                stage=stage,
                                                entry_channel=entry_channel,
                                                campaign_id=campaign_id)
            transitions = [(pk, None, at, amounts.get(pk)) for pk, at in fresh
                           if pk in inserted]
        for key in states_cas_update("account", states) if states else ():
            state = states[key]
            transitions.append((key[1], state.previous.pk if state.previous else None,
                                state.changed_at, amounts.get(key[1])))
        moves_sql.append_transitions(transitions, stage_id=stage.pk, channel=channel,
                                     campaign_id=campaign_id, recorded_by=recorded_by)
        fresh_at = dict(fresh)
        events.transitions_emit(
            [(pk, None, None, stage, fresh_at[pk], channel, amounts.get(pk)) for pk in moved]
            + [(pk, None, stages.get(from_stage), stage, at, channel, amount)
               for pk, from_stage, at, amount in transitions])
        signals.transitions_recorded.send(sender=StageTransition, transitions=[
            (pk, stage.pk, campaign_id) for pk in [*moved, *(row[0] for row in transitions)]])
    moved += [row[0] for row in transitions]
    lost = len(fresh) + len(states) - len(moved)
    if refused or lost:
        logger.info("funnel: %s automatic moves to %s refused (already there or closed), %s "
                    "lost to a concurrent move", refused, stage.slug, lost)
    return moved
