"""Fit, intent and engagement scoring and rule-based tiering, computed in the database.

A recompute walks the accounts in chunks (by primary key). For each chunk three GROUP BY
queries compute, in the database, the fit points of every account (one CASE per ICP
criterion), the 3-week and baseline intent averages per topic, and the decayed, weighted
engagement; only accounts whose scores changed are written back (bulk UPDATE). Tiers are then
assigned from the stored scores by the rules, in priority order: a CASE in the database when no
tier has a capacity; when one has, every unlocked account is ranked (fit, engagement, intent,
ACV) and placed greedily, because a capacity is a property of the whole population.

The full recompute and the incremental one (the accounts touched by an ingest) run the very
same code, the latter on a list of ids: they cannot disagree.
"""

import json
import math
from collections import defaultdict
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, connections, transaction
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Power
from django.utils import timezone
from django.utils.text import slugify

from . import rowsets, signals
from .conf import settings
from .models import (
    Account,
    EngagementEvent,
    IcpCriterion,
    IcpProfile,
    IntentSignal,
    Technology,
    TierAssignment,
    TierRule,
)

SCORE_FIELDS = ["fit_score", "intent_score", "engagement_score", "surging_topics",
                "has_recent_intent", "has_recent_engagement"]


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime column, as a double."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


# Fit ---------------------------------------------------------------------------------------

def active_criteria():
    profile = IcpProfile.objects.filter(is_active=True).first()
    if profile is None:
        return None, []
    return profile, list(profile.criteria.order_by("id"))


def criterion_q(criterion, prefix=""):
    """The criterion as a filter on Account (prefix: a path to the account, e.g. "account__")."""
    attribute = criterion.attribute
    if attribute == IcpCriterion.Attribute.TECHNOLOGY:
        slugs = [slugify(str(v))[:100] for v in criterion.values if str(v).strip()]
        if not slugs:
            return Q(pk__in=[])
        uses = Technology.accounts.through.objects.filter(
            account_id=OuterRef(f"{prefix}pk"), technology__slug__in=slugs
        )
        return Q(Exists(uses))
    if attribute in IcpCriterion.SET_ATTRIBUTES:
        q = Q(pk__in=[])
        for value in criterion.values:
            q |= Q(**{f"{prefix}{attribute}__iexact": str(value).strip()})
        return q
    q = Q(**{f"{prefix}{attribute}__isnull": False})
    if criterion.min_value is not None:
        q &= Q(**{f"{prefix}{attribute}__gte": criterion.min_value})
    if criterion.max_value is not None:
        q &= Q(**{f"{prefix}{attribute}__lte": criterion.max_value})
    return q


def fit_points_expression(criteria):
    points = Value(0, output_field=IntegerField())
    for criterion in criteria:
        points = points + Case(When(criterion_q(criterion), then=Value(criterion.weight)),
                               default=Value(0), output_field=IntegerField())
    return points


def fit_score(points, total):
    """Weighted share of criteria met, 0–100, rounded half up."""
    if not total:
        return 0
    return (200 * points + total) // (2 * total)


# Intent and engagement windows -------------------------------------------------------------

@dataclass(frozen=True)
class Windows:
    now: object
    intent_recent_start: object
    intent_baseline_start: object
    intent_end: object
    engagement_start: object
    engagement_recent_start: object
    half_life_seconds: float
    threshold: float

    @classmethod
    def at(cls, now):
        today = timezone.localdate(now)
        monday = today - timedelta(days=today.weekday())
        recent_start = monday - timedelta(weeks=settings.ABMCRM_SURGE_RECENT_WEEKS - 1)
        return cls(
            now=now,
            intent_recent_start=recent_start,
            intent_baseline_start=recent_start - timedelta(
                weeks=settings.ABMCRM_SURGE_BASELINE_WEEKS),
            intent_end=today + timedelta(days=1),
            engagement_start=now - timedelta(days=settings.ABMCRM_ENGAGEMENT_WINDOW_DAYS),
            engagement_recent_start=now - timedelta(days=settings.ABMCRM_RECENT_ENGAGEMENT_DAYS),
            half_life_seconds=settings.ABMCRM_ENGAGEMENT_HALF_LIFE_DAYS * 86400.0,
            threshold=float(settings.ABMCRM_SURGE_THRESHOLD),
        )


def decay_expression(windows):
    """weight × ½^(age / half-life); an event dated in the future (clock skew) counts fully."""
    age = Greatest(Value(0.0), Value(windows.now.timestamp()) - EpochSeconds("occurred_at"))
    return F("kind__weight") * Power(Value(0.5), age / Value(windows.half_life_seconds))


def engagement_rows(account_filter, windows):
    """account_id → (raw points, time of the latest recent meaningful event or None)."""
    rows = (
        EngagementEvent.objects.filter(account_filter, occurred_at__gte=windows.engagement_start,
                                       kind__weight__gt=0)
        .values("account_id")
        .annotate(
            raw=Sum(decay_expression(windows), output_field=FloatField()),
            last=Max(Case(When(occurred_at__gte=windows.engagement_recent_start,
                               then=F("occurred_at")))),
        )
        .order_by()
        .values_list("account_id", "raw", "last")
    )
    return {account_id: (float(raw or 0), last) for account_id, raw, last in rows}


def engagement_score(raw):
    return min(100, int(math.floor(raw + 0.5)))


def intent_rows(account_filter, windows):
    """account_id → [(topic, recent average, baseline average or None)]."""
    rows = (
        IntentSignal.objects.filter(account_filter, week__gte=windows.intent_baseline_start,
                                    week__lte=windows.intent_end)
        .values("account_id", "topic")
        .annotate(
            recent=Avg(Case(When(week__gte=windows.intent_recent_start, then=F("score")))),
            baseline=Avg(Case(When(week__lt=windows.intent_recent_start, then=F("score")))),
        )
        .filter(recent__isnull=False)
        .order_by()
        .values_list("account_id", "topic", "recent", "baseline")
    )
    found = defaultdict(list)
    for account_id, topic, recent, baseline in rows:
        found[account_id].append(
            (topic, float(recent), None if baseline is None else float(baseline))
        )
    return found


def is_surging(recent, baseline, threshold):
    return recent >= threshold and recent > (baseline or 0.0)


def intent_summary(topics, windows):
    """(intent score, surging topics) from [(topic, recent, baseline)]: the score is the
    highest 3-week topic average; topics are listed strongest first."""
    if not topics:
        return 0, []
    score = min(100, int(math.floor(max(recent for _, recent, _ in topics) + 0.5)))
    surging = sorted(((recent, topic) for topic, recent, baseline in topics
                      if is_surging(recent, baseline, windows.threshold)),
                     key=lambda pair: (-pair[0], pair[1]))
    return score, [topic for _, topic in surging]


# Recompute ---------------------------------------------------------------------------------

@dataclass
class RecomputeResult:
    accounts: int = 0
    scores_changed: int = 0
    newly_engaged: int = 0
    tier_changes: int = 0
    overflow: dict = field(default_factory=dict)

    def as_dict(self):
        return {"accounts": self.accounts, "scores_changed": self.scores_changed,
                "newly_engaged": self.newly_engaged, "tier_changes": self.tier_changes,
                "overflow": self.overflow}


def _chunks(account_ids, size):
    """Yield (Q on Account, Q on rows with an account_id, number of accounts)."""
    if account_ids is None:
        last = 0
        while True:
            ids = list(Account.objects.filter(pk__gt=last).order_by("pk")
                       .values_list("pk", flat=True)[:size])
            if not ids:
                return
            yield (Q(pk__gte=ids[0], pk__lte=ids[-1]),
                   Q(account_id__gte=ids[0], account_id__lte=ids[-1]), len(ids))
            last = ids[-1]
    else:
        ids = sorted(set(account_ids))
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            yield Q(pk__in=chunk), Q(account_id__in=chunk), len(chunk)


def chunk_changes(account_q, rows_q, windows, criteria):
    """Compute the scores of one chunk of accounts (reads only). Returns (changed, newly
    engaged): the rows of the accounts whose scores changed, (pk, *SCORE_FIELDS values), and
    {pk: time of the meaningful event} of those not engaged before that now are."""
    total_weight = sum(c.weight for c in criteria)
    engagement = engagement_rows(rows_q, windows)
    intent = intent_rows(rows_q, windows)
    # The topics are read as JSON text: decoding 100,000 lists costs more than comparing
    # their text, and only a row whose text differs is decoded to compare its list. Few
    # distinct lists occur, so each is encoded once.
    encoded = {}
    current = (Account.objects.filter(account_q)
               .annotate(_fit_points=fit_points_expression(criteria),
                         _topics=Cast("surging_topics", TextField()))
               .order_by()
               .values_list("pk", *SCORE_FIELDS[:3], "_topics", *SCORE_FIELDS[4:],
                            "_fit_points"))
    changed, newly_engaged = [], {}
    for pk, fit, intent_score, engagement_score_, topics, has_intent, has_engagement, points \
            in current:
        raw, last_meaningful = engagement.get(pk, (0.0, None))
        new_intent, new_topics = intent_summary(intent.get(pk, ()), windows)
        new = (fit_score(points or 0, total_weight), new_intent, engagement_score(raw),
               new_topics, bool(new_topics), last_meaningful is not None)
        key = tuple(new_topics)
        if key not in encoded:
            encoded[key] = json.dumps(new_topics, ensure_ascii=False)
        if topics == encoded[key]:
            topics = new_topics
        else:
            topics = json.loads(topics)
        if new != (fit, intent_score, engagement_score_, topics, has_intent, has_engagement):
            changed.append((pk, *new))
            if new[5] and not has_engagement:
                newly_engaged[pk] = last_meaningful
    return changed, newly_engaged


def write_chunk(account_q, changed, newly_engaged, *, windows):
    """Write what `chunk_changes` found, in one transaction, and announce the accounts newly
    engaged. Returns (accounts changed, accounts newly engaged)."""
    with transaction.atomic():
        won = write_scores(changed, scored_at=windows.now, engaging=newly_engaged)
        newly_engaged = {pk: at for pk, at in newly_engaged.items() if pk in won}
        # Never-scored accounts get a time too; rewriting every row each run would double
        # the cost of a recompute for a timestamp nobody needs (the job records the run).
        Account.objects.filter(account_q, scored_at__isnull=True).update(scored_at=windows.now)
        if newly_engaged:
            _announce_engaged(newly_engaged)
    return len(changed), len(newly_engaged)


def _announce_engaged(engaged):
    """Send the engagement signals for {account id: occurred_at}; the accounts are loaded
    only if a receiver of the signals carrying them is connected."""
    if signals.account_engaged.has_listeners(Account) or \
            signals.accounts_engaged.has_listeners(Account):
        pairs = [(account, engaged[account.pk])
                 for account in Account.objects.filter(pk__in=list(engaged))]
        for account, occurred_at in pairs:
            signals.account_engaged.send(sender=Account, account=account,
                                         occurred_at=occurred_at)
        signals.accounts_engaged.send(sender=Account, engaged=pairs)
    signals.accounts_engaged_ids.send(sender=Account, engaged=list(engaged.items()))


SCORE_COLUMNS = [("id", "int"), ("fit_score", "smallint"), ("intent_score", "smallint"),
                 ("engagement_score", "smallint"), ("surging_topics", "jsonb"),
                 ("has_recent_intent", "bool"), ("has_recent_engagement", "bool")]


def write_scores(rows, *, scored_at, engaging=()):
    """Write the score fields (and scored_at) of many accounts, rows being
    (pk, *SCORE_FIELDS values). Returns the ids of `engaging` that were written.

    `engaging`: accounts read as not engaged that now are. Their rows are written only where
    the account is still not engaged, a compare-and-set: of two recomputes racing, one writes
    the change and announces it (the other then writes the same scores plainly).

    Django's bulk_update builds a CASE per field and row, whose compilation costs ~30× the
    database work at this size: one UPDATE … FROM a rowset (see `rowsets`) instead."""
    if not rows:
        return set()
    table = connection.ops.quote_name(Account._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(name)} = v.{name}" for name in SCORE_FIELDS)
    sets += ", " + connection.ops.quote_name("scored_at") + " = %s"
    won = set()
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(SCORE_COLUMNS,
                                           [row for row in rows if row[0] in engaging], 1):
            cursor.execute(f"{cte} UPDATE {table} SET {sets} FROM v WHERE {table}.id = v.id "
                           f"AND NOT {table}.has_recent_engagement RETURNING {table}.id",
                           [*params, scored_at])
            won.update(pk for pk, in cursor.fetchall())
        for cte, params in rowsets.batches(SCORE_COLUMNS, [
                row for row in rows if row[0] not in won], 1):
            cursor.execute(f"{cte} UPDATE {table} SET {sets} FROM v WHERE {table}.id = v.id",
                           [*params, scored_at])
    return won


def active_rules():
    return list(TierRule.objects.filter(is_active=True).select_related("tier")
                .order_by("priority", "id"))


def _reason(rule, fit, intent, engagement, note=""):
    scores = f"fit {fit}, intent {intent}, engagement {engagement}"
    if rule is None:
        return f"No tier rule matches ({scores}).{note}"
    return f"Rule #{rule.priority} “{rule.name}” ({scores}).{note}"


ROW_FIELDS = ("pk", "tier_id", "tier_rule_id", "fit_score", "intent_score", "engagement_score")


def retier_chunk(account_q, *, rules, by=None):
    """Place the unlocked accounts of a chunk by the rules, none of whose tiers has a
    capacity (a CASE in the database); returns the number of tier changes."""
    by_pk = {rule.pk: rule for rule in rules}
    target = Case(*[When(rule.matches_q(), then=Value(rule.pk)) for rule in rules],
                  default=Value(None), output_field=IntegerField()) if rules else \
        Value(None, output_field=IntegerField())
    rows = (Account.objects.filter(account_q, tier_locked=False)
            .annotate(_rule=target).order_by().values_list(*ROW_FIELDS, "_rule"))
    moves = []
    for pk, tier_id, rule_id, fit, intent, engagement, new_rule in rows:
        rule = by_pk.get(new_rule)
        new_tier = rule.tier_id if rule else None
        if new_tier != tier_id or new_rule != rule_id:
            moves.append((pk, tier_id, rule_id, new_tier, rule,
                          _reason(rule, fit, intent, engagement)))
    return apply_moves(moves, by=by)


def retier(*, account_ids=None, by=None, chunk_size=None, rules=None):
    """Place unlocked accounts by the rules (`rules`: the active ones, if already read);
    returns (tier changes, overflow report)."""
    chunk_size = chunk_size or settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    rules = active_rules() if rules is None else rules
    capped = {rule.tier_id: rule.tier.capacity for rule in rules
              if rule.tier.capacity is not None}
    if not capped:
        return sum(retier_chunk(account_q, rules=rules, by=by)
                   for account_q, _, _ in _chunks(account_ids, chunk_size)), {}

    # A capacity ranks the whole population: every unlocked account is considered.
    changes = 0
    remaining = dict(capped)
    for tier_id, locked in (Account.objects.filter(tier_locked=True, tier_id__in=list(capped))
                            .values("tier_id").annotate(n=Count("pk")).values_list("tier_id",
                                                                                   "n")):
        remaining[tier_id] = max(0, remaining[tier_id] - locked)
    flags = {f"_m{rule.pk}": Case(When(rule.matches_q(), then=Value(True)), default=Value(False),
                                  output_field=BooleanField()) for rule in rules}
    rows = (Account.objects.filter(tier_locked=False).annotate(**flags)
            .order_by("-fit_score", "-engagement_score", "-intent_score",
                      F("estimated_acv").desc(nulls_last=True), "pk")
            .values_list(*ROW_FIELDS, *flags))
    limit = settings.ABMCRM_OVERFLOW_REPORT_LIMIT
    overflow = {}
    moves = []
    for row in rows.iterator(chunk_size=chunk_size):
        pk, tier_id, rule_id, fit, intent, engagement = row[:6]
        matched = row[6:]
        placed, skipped = None, []
        for rule, matches in zip(rules, matched, strict=True):
            if not matches:
                continue
            if rule.tier_id in remaining:
                if remaining[rule.tier_id] <= 0:
                    skipped.append(rule)
                    continue
                remaining[rule.tier_id] -= 1
            placed = rule
            break
        for rule in skipped:
            report = overflow.setdefault(rule.tier.number, {"capacity": rule.tier.capacity,
                                                            "count": 0, "accounts": []})
            if pk not in report["accounts"]:
                report["count"] += 1
                if len(report["accounts"]) < limit:
                    report["accounts"].append(pk)
        new_tier = placed.tier_id if placed else None
        new_rule = placed.pk if placed else None
        if new_tier != tier_id or new_rule != rule_id:
            note = "".join(f" Tier {r.tier.number} is full (capacity {r.tier.capacity})."
                           for r in skipped)
            moves.append((pk, tier_id, rule_id, new_tier, placed,
                          _reason(placed, fit, intent, engagement, note)))
        if len(moves) >= chunk_size:
            changes += apply_moves(moves, by=by)
            moves = []
    changes += apply_moves(moves, by=by)
    return changes, overflow


MOVE_COLUMNS = [("id", "int"), ("old_tier", "int"), ("old_rule", "int"), ("new_tier", "int"),
                ("new_rule", "int")]
HISTORY_COLUMNS = [("id", "int"), ("old_tier", "int"), ("new_tier", "int"), ("rule", "int"),
                   ("reason", "text")]


def apply_moves(moves, *, by=None):
    """Write tier moves [(pk, old tier id, old rule id, new tier id, rule, reason)] with a
    compare-and-set on (tier, rule, unlocked): an account moved or locked meanwhile is left
    alone. Each tier change gets a history row and is announced.

    Set-based (one UPDATE … FROM and one INSERT … SELECT a batch, see `rowsets`): a first
    recompute moves tens of thousands of accounts."""
    if not moves:
        return 0
    table = Account._meta.db_table
    # Null-safe equality: SQLite's `IS` (its IS NOT DISTINCT FROM needs SQLite 3.39).
    same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
    moved = set()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for cte, params in rowsets.batches(MOVE_COLUMNS, [
                    (pk, old_tier, old_rule, new_tier, rule.pk if rule else None)
                    for pk, old_tier, old_rule, new_tier, rule, _ in moves]):
                cursor.execute(
                    f"{cte} UPDATE {table} SET tier_id = v.new_tier, tier_rule_id = v.new_rule "
                    f"FROM v WHERE {table}.id = v.id AND NOT {table}.tier_locked "
                    f"AND {table}.tier_id {same} v.old_tier "
                    f"AND {table}.tier_rule_id {same} v.old_rule "
                    f"RETURNING {table}.id", params)
                moved.update(row[0] for row in cursor.fetchall())
        tier_moves = [move for move in moves if move[0] in moved and move[1] != move[3]]
        if not tier_moves:
            return 0
        history = _write_history(tier_moves, by=by)
        _announce_tier_changes([(pk, old_tier, new_tier, history[pk])
                                for pk, old_tier, _, new_tier, _, _ in tier_moves], by=by)
    return len(tier_moves)


def _write_history(moves, *, by):
    """One TierAssignment per tier move, with the scores the account has as it is written.
    Returns {account id: assignment id}."""
    table = TierAssignment._meta.db_table
    accounts = Account._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    written = {}
    with connection.cursor() as cursor:
        for cte, params in rowsets.batches(HISTORY_COLUMNS, [
                (pk, old_tier, new_tier, rule.pk if rule else None, reason)
                for pk, old_tier, _, new_tier, rule, reason in moves], 3):
            cursor.execute(
                f"{cte} INSERT INTO {table} (account_id, old_tier_id, new_tier_id, rule_id, "
                "cause, reason, fit_score, intent_score, engagement_score, by_id, created_at) "
                "SELECT v.id, v.old_tier, v.new_tier, v.rule, %s, v.reason, a.fit_score, "
                f"a.intent_score, a.engagement_score, %s, %s FROM v JOIN {accounts} a "
                "ON a.id = v.id RETURNING id, account_id",
                [*params, TierAssignment.Cause.RULES.value, by.pk if by else None, now])
            written.update((account_id, pk) for pk, account_id in cursor.fetchall())
    return written


def _announce_tier_changes(changes, *, by):
    """Send the tier signals for [(account id, old tier id, new tier id, assignment id)]; the
    accounts, tiers and history rows are loaded only if a receiver of the signals carrying
    them is connected."""
    if signals.tier_changed.has_listeners(Account) or \
            signals.tiers_changed.has_listeners(Account):
        from .models import Tier

        tiers = {tier.pk: tier for tier in Tier.objects.all()}
        accounts = Account.objects.in_bulk([pk for pk, *_ in changes])
        assignments = TierAssignment.objects.select_related("rule").in_bulk(
            [assignment for *_, assignment in changes])
        loaded = [(accounts[pk], tiers.get(old), tiers.get(new), assignments[assignment])
                  for pk, old, new, assignment in changes]
        for account, old, new, assignment in loaded:
            signals.tier_changed.send(sender=Account, account=account, old_tier=old,
                                      new_tier=new, assignment=assignment, by=by)
        signals.tiers_changed.send(sender=Account, changes=loaded, by=by)
    signals.tiers_changed_ids.send(sender=Account, changes=changes, by=by)


def recompute(*, account_ids=None, now=None, by=None, progress=None):
    """Rescore and retier all accounts (account_ids None) or the given ones."""
    windows = Windows.at(now or timezone.now())
    chunk_size = settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    _, criteria = active_criteria()
    result = RecomputeResult()
    total = (Account.objects.count() if account_ids is None
             else Account.objects.filter(pk__in=list(set(account_ids))).count())
    if progress:
        progress(0, total)

    def written(size, counts):
        result.accounts += size
        result.scores_changed += counts[0]
        result.newly_engaged += counts[1]
        if progress:
            progress(min(result.accounts, total), total)

    overlap = account_ids is None and _can_overlap()
    # Overlapped, this thread also places each chunk once its scores are committed (while
    # the next one is written) rather than in a pass of its own afterwards. Only without a
    # capacity: then a tier depends on the account's own scores, not on the population's.
    rules = active_rules()
    by_chunk = overlap and all(rule.tier.capacity is None for rule in rules)
    committed = None
    with _ChunkWriter(overlap=overlap) as write:
        for account_q, rows_q, size in _chunks(account_ids, chunk_size):
            changed, engaged = chunk_changes(account_q, rows_q, windows, criteria)
            # Returns once the previous chunk's write has committed.
            write(lambda counts, size=size: written(size, counts),
                  write_chunk, account_q, changed, engaged, windows=windows)
            if committed is not None:
                result.tier_changes += retier_chunk(committed, rules=rules, by=by)
            committed = account_q if by_chunk else None
    if committed is not None:
        result.tier_changes += retier_chunk(committed, rules=rules, by=by)
    if not by_chunk:
        result.tier_changes, result.overflow = retier(account_ids=account_ids, by=by,
                                                      rules=rules)
    return result


def _can_overlap():
    """Whether a second connection may write chunks while this one reads: PostgreSQL only
    (SQLite has one writer, and its test databases live in one connection), and not inside a
    transaction (the other connection would not see its rows, nor be part of it)."""
    return (settings.ABMCRM_RECOMPUTE_OVERLAP_WRITES and connection.vendor == "postgresql"
            and not connection.in_atomic_block)


class _ChunkWriter:
    """Runs each chunk's writes (`write(done, fn, *args)`; `done(result)` is called in this
    thread) either here, or — `overlap` — in one background thread with its own database
    connection, while this thread reads the next chunk. A first recompute spends more on its
    writes than on its reads; overlapped, the database does both at once on two cores. One
    write is in flight at a time, so they commit in chunk order and memory holds two chunks
    at most."""

    def __init__(self, *, overlap):
        self.executor = ThreadPoolExecutor(max_workers=1) if overlap else None
        self.pending = None

    def __enter__(self):
        return self

    def __call__(self, done, fn, *args, **kwargs):
        if self.executor is None:
            done(fn(*args, **kwargs))
            return
        self.wait()
        self.pending = (self.executor.submit(fn, *args, **kwargs), done)

    def wait(self):
        if self.pending is not None:
            future, done = self.pending
            self.pending = None
            done(future.result())

    def __exit__(self, exc_type, exc, tb):
        if self.executor is None:
            return
        try:
            if exc_type is None:
                self.wait()
            elif self.pending is not None:
                futures.wait([self.pending[0]])  # the original error is the one to raise
        finally:
            # The background thread's connection is its own: close it there.
            self.executor.submit(connections.close_all).result()
            self.executor.shutdown()
