"""The writes of a recompute: a chunk's scores, and tier moves with their history rows and
signals, each in one transaction (the SQL itself is in `tiers.sql`)."""

from django.db import transaction

from .. import events, signals, sql
from ..models import Account, TierAssignment

TOPICS = 1 + sql.SCORE_FIELDS.index("surging_topics")
ENGAGED = 1 + sql.SCORE_FIELDS.index("has_recent_engagement")


def write_chunk(account_q, changed, announcing=None, *, windows):
    """Write what `recompute.chunk_changes` found, in one transaction, and announce the
    accounts newly engaged (`account.engaged`) and those with topics that started surging
    (`account.surging`). Returns (accounts changed, accounts newly engaged).

    What is announced is decided here, in one place, against the row the write replaces:
    the rows of `announcing` are written by a compare-and-set on their engagement flag and
    surging topics as read, so of recomputes racing one wins and announces. A row that
    changed since it was read (the other recompute committed it) is read again, locked until
    this commit, and announces only what this write still changes: a topic that started
    surging is announced once, however many recomputes find it."""
    announcing = announcing or {}
    with transaction.atomic():
        expected = {pk: (engaged, topics) for pk, (engaged, topics, _) in announcing.items()}
        won = sql.write_scores(changed, scored_at=windows.now, expected=expected)
        before = {pk: expected[pk] for pk in won}
        lost = sorted(set(announcing) - won)
        if lost:
            before.update((pk, (engaged, topics)) for pk, engaged, topics in
                          Account.objects.select_for_update().filter(pk__in=lost)
                          .order_by("pk").values_list("pk", "has_recent_engagement",
                                                      "surging_topics"))
        sql.write_scores([row for row in changed if row[0] in before and row[0] not in won],
                         scored_at=windows.now)
        newly_engaged, surging = announcements(changed, before, announcing)
        # Never-scored accounts get a time too; rewriting every row each run would double
        # the cost of a recompute for a timestamp nobody needs (the job records the run).
        Account.objects.filter(account_q, scored_at__isnull=True).update(scored_at=windows.now)
        if newly_engaged:
            signals.announce_engaged(newly_engaged)
        if surging:
            events.surging_emit(surging)
    return len(changed), len(newly_engaged)


def announcements(changed, before, announcing):
    """({pk: time of the meaningful event} of the accounts that become engaged, {pk: (topics
    that start surging, all surging topics)}) for the written rows `changed` (pk, *score
    values), given {pk: (engaged, surging topics)} of each row before the write."""
    newly_engaged, surging = {}, {}
    for row in changed:
        if row[0] not in before:
            continue
        was_engaged, was_topics = before[row[0]]
        if row[ENGAGED] and not was_engaged:
            newly_engaged[row[0]] = announcing[row[0]][2]
        started = [topic for topic in row[TOPICS] if topic not in was_topics]
        if started:
            surging[row[0]] = (started, row[TOPICS])
    return newly_engaged, surging


def apply_moves(moves, *, by=None, moved=None):
    """Write tier moves [(pk, old tier id, old rule id, new tier id, rule, reason)] with a
    compare-and-set on (tier, rule, unlocked): an account moved or locked meanwhile is left
    alone. Each tier change gets a history row and is announced. Set-based: a first
    recompute moves tens of thousands of accounts. `moved`: a set that collects the ids of
    the accounts whose tier changed."""
    if not moves:
        return 0
    with transaction.atomic():
        won = sql.move_tiers([(pk, old_tier, old_rule, new_tier, rule.pk if rule else None)
                              for pk, old_tier, old_rule, new_tier, rule, _ in moves])
        tier_moves = [move for move in moves if move[0] in won and move[1] != move[3]]
        if not tier_moves:
            return 0
        if moved is not None:
            moved.update(move[0] for move in tier_moves)
        history = sql.insert_tier_history(
            [(pk, old_tier, new_tier, rule.pk if rule else None, reason)
             for pk, old_tier, _, new_tier, rule, reason in tier_moves],
            cause=TierAssignment.Cause.RULES.value, by=by)
        signals.announce_tier_changes([(pk, old_tier, new_tier, history[pk])
                                       for pk, old_tier, _, new_tier, _, _ in tier_moves], by=by)
    return len(tier_moves)
