"""Scoring with the recompute: each account's in-market probability (the active model, or the
transparent rule while there are too few deals), its buying stage, the reasons in words and
the 6QA; written onto the account set-based. Becoming 6QA the first time moves the account
to the funnel's `qualified` stage (once, ever); the changes are announced by signals inside
the transaction that writes them."""

import contextlib
import functools
import hashlib
import json
import re
from datetime import timedelta
from functools import lru_cache

import numpy as np
from django.db import transaction
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from abmcrm.core import outbox
from abmcrm.core.db import readahead, rowsets
from funnel import selectors as funnel_selectors
from funnel import services as funnel_services
from funnel.models import Stage
from tiers.conf import settings as tiers_settings
from tiers.models import Account, BuyingStage

from .. import learn, signals
from ..features import LABELS, NAMES
from ..models import InMarketModel, InMarketSettings
from ..sql import qualify as qualify_sql
from ..sql import reasons as reasons_sql
from ..sql import scores as scores_sql
from ..sql import training as read_sql
from ..sql.dialect import is_pg
from .snapshots import _chunks, week_of

RAW = learn.RAW
QUALIFIED = "qualified"
# Titles read as senior, most senior first: "CFO engaged".
SENIOR_TITLES = [
    (re.compile(r"\b(c[efiotmr]o|ciso|chief\b[\w\s]*\bofficer)\b", re.I), 0),
    (re.compile(r"\b(s?vp|vice[\s-]president|president)\b", re.I), 1),
    (re.compile(r"\b(head of|director|dir\.)", re.I), 2),
]


# The transparent rule -------------------------------------------------------------------

def rule_factors(raw, config):
    """(fit, surge, engagement) factors of the fallback rule, each row of `raw`."""
    fit = raw[:, RAW["fit_score"]]
    fit_f = np.where(fit >= config.high_fit, 1.0, np.where(fit >= config.moderate_fit, 0.6,
                                                           0.2))
    surge_f = np.where(raw[:, RAW["surging_topics"]] > 0, 1.0, 0.35)
    engagement_f = np.where(raw[:, RAW["purchase_30d"]] > 0, 1.0,
                            np.where(raw[:, RAW["engagement_30d"]] > 0, 0.7, 0.2))
    return fit_f, surge_f, engagement_f


def rule_probability(raw, config):
    """The fallback: fit band × surge × meaningful engagement, 0.03–0.60 (docs/apps/
    inmarket.md): high fit surging with a pricing or demo request is 0.6."""
    fit_f, surge_f, engagement_f = rule_factors(raw, config)
    return 0.02 + 0.58 * fit_f * surge_f * engagement_f


RULE_FEATURES = [
    {"name": "fit_score", "effect": 1.0, "importance": 1.0},
    {"name": "surging_topics", "effect": 1.0, "importance": 1.0},
    {"name": "engagement_30d", "effect": 1.0, "importance": 1.0},
    {"name": "purchase_30d", "effect": 1.0, "importance": 1.0},
]


# Stages and the 6QA ---------------------------------------------------------------------

# The stages by code: each band and signal raises the code (NumPy picks from this array).
STAGES = np.array([stage.value for stage in (
    BuyingStage.TARGET, BuyingStage.AWARENESS, BuyingStage.CONSIDERATION, BuyingStage.DECISION,
    BuyingStage.PURCHASE)], dtype=object)
CONSIDERATION, DECISION = 2, 3


def stage_codes(p, raw, config):
    """Each row's stage as its index in STAGES (see `buying_stages`)."""
    codes = np.zeros(len(p), dtype=np.int8)
    codes[p >= config.awareness_min] = 1
    codes[p >= config.consideration_min] = CONSIDERATION
    codes[p >= config.decision_min] = DECISION
    buying = (raw[:, RAW["open_deals"]] > 0) | (
        (raw[:, RAW["purchase_30d"]] > 0) & (p >= config.decision_min))
    codes[buying] = 4
    return codes


def buying_stages(p, raw, config):
    """The stage of each row from its probability and signals: `purchase` needs an open deal
    or a pricing or demo request (with a probability in the decision band)."""
    return STAGES[stage_codes(p, raw, config)]


def six_qa(raw, late, config):
    """`late`: the rows in the decision stage or at purchase."""
    fit_ok = raw[:, RAW["fit_score"]] >= config.moderate_fit
    contact_fit = raw[:, RAW["contact_fit"]]
    if config.contact_fit_min:
        contact_ok = ~np.isnan(contact_fit) & (np.nan_to_num(contact_fit) >=
                                               config.contact_fit_min)
    else:
        contact_ok = np.ones(len(late), dtype=bool)
    return fit_ok & contact_ok & late


# Reasons ----------------------------------------------------------------------------------

def _kind_trends(ids, now):
    """{account id: (kind name, recent count, count before)} of the engagement kind that rose
    most over the last 3 weeks against the 3 before."""
    recent_from, before_from = now - timedelta(weeks=3), now - timedelta(weeks=6)
    rows = reasons_sql.kind_counts(ids, since=before_from, split=recent_from, until=now)
    best = {}
    for account_id, name, recent, before in rows:
        if recent < 2 or recent <= before:
            continue
        rise = recent / max(before, 1)
        if account_id not in best or rise > best[account_id][3]:
            best[account_id] = (name, recent, before, rise)
    return best


def _senior_contacts(ids, now):
    """{account id: the most senior title engaged in the last 30 days}."""
    found = {}
    for account_id, title in reasons_sql.titles(ids, since=now - timedelta(days=30), until=now):
        for pattern, rank in SENIOR_TITLES:
            match = pattern.search(title)
            if match:
                short = match.group(0)
                label = short.upper() if len(short) <= 4 and short.isalpha() else title.strip()
                if account_id not in found or rank < found[account_id][0]:
                    found[account_id] = (rank, label)
                break
    return {pk: label for pk, (_rank, label) in found.items()}


PHRASES = {
    "rise": gettext_noop("%(kind)s up %(rise)s× in 3 weeks"),
    "new": gettext_noop("%(count)s × %(kind)s in the last 3 weeks"),
    "senior": gettext_noop("%(title)s engaged"),
    "topics": gettext_noop("surging intent on %(topics)s"),
    "purchase": gettext_noop("%(count)s pricing or demo requests in 30 days"),
    "fit": gettext_noop("ICP fit %(fit)s"),
    "tier": gettext_noop("Tier %(number)s account"),
    "won": gettext_noop("%(count)s deals won before"),
    "coverage": gettext_noop("buying committee %(share)s%% covered"),
    "other": gettext_noop("%(feature)s: %(value)s"),
}
ENGAGEMENT = ("engagement_7d", "engagement_30d", "engagement_90d", "engagement_points")
INTENT = ("surging_topics", "intent_score", "intent_topics")


@lru_cache(maxsize=4096)
def _words(name, value, language, trend=None, senior=None, topics=()):
    """One reason in words (remembered: a scoring says the same few phrases for 100,000
    accounts; `language` keys the translation)."""
    count = int(round(value))
    if name in ENGAGEMENT and trend:
        kind, recent, before, rise = trend
        if before:
            return _(PHRASES["rise"]) % {
                "kind": kind, "rise": f"{rise:.0f}" if rise >= 2 else f"{rise:.1f}"}
        return _(PHRASES["new"]) % {"count": recent, "kind": kind}
    if name == "contacts_30d" and senior:
        return _(PHRASES["senior"]) % {"title": senior}
    if name in INTENT and topics:
        return _(PHRASES["topics"]) % {"topics": ", ".join(topics[:3])}
    if name == "purchase_30d":
        return _(PHRASES["purchase"]) % {"count": count}
    if name == "fit_score":
        return _(PHRASES["fit"]) % {"fit": count}
    if name.startswith("tier_"):
        return _(PHRASES["tier"]) % {"number": name[-1]}
    if name == "won_deals":
        return _(PHRASES["won"]) % {"count": count}
    if name == "coverage":
        return _(PHRASES["coverage"]) % {"share": int(round(value))}  # a percentage
    return _(PHRASES["other"]) % {"feature": str(LABELS[name]),
                                   "value": f"{value:g}" if value % 1 else count}


def _row_words(tops, values, language, trend=None, senior=None, topics=()):
    """One account's reasons: `tops` the feature indices of its (up to three) positive
    pushes, strongest first, `values` their values (counts by their whole value, coverage as
    it is); then the most senior person engaged, said even when three features came first."""
    words = []
    for j, value in zip(tops, values, strict=True):
        text = _words(NAMES[j], value, language, trend=trend, senior=senior, topics=topics)
        if text not in words:
            words.append(text)
    if senior:
        text = _words("contacts_30d", 1.0, language, senior=senior)
        if text not in words:
            words.append(text)
    return words


def _top3(contributions):
    """The indices of each row's three strongest pushes, strongest first, ties by feature
    order (as a stable sort of the whole row would give them): three argmax passes cost a
    fraction of sorting 19 columns."""
    c = np.array(contributions, dtype=np.float64)
    rows = np.arange(len(c))
    top = np.empty((len(c), 3), dtype=np.int64)
    for k in range(3):
        top[:, k] = np.argmax(c, axis=1)  # the first of equal values
        c[rows, top[:, k]] = -np.inf
    return top


@lru_cache(maxsize=8192)
def _digest(text):
    """The reasons' part of a scores mark (`sql.training.MARK`): 16 bytes of BLAKE2b."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _reasons(ids, X, contributions, advanced, now, *, as_text=None, cache=None, topics=None):
    """Up to three reasons per account, strongest first, in words, and the most senior
    person engaged lately ("CFO engaged"): a list of lists, or with `as_text` (a function of
    a list to text) a pair: an object array of each account's reasons passed through it, and
    an array of their digests, 16 bytes a row (`_digest`, taken once per distinct text).
    `cache` (a dict the caller keeps for one scoring, in one language) remembers them by key
    across chunks; `topics` ({account id: surging topics}) spares a query.

    Worked out once per distinct reason key, not once per account: without the recent
    engagement, senior contacts and topics (read only for the accounts in consideration or
    later) an account's reasons depend only on which features push it most and their values,
    and a scoring of 100,000 accounts has a few thousand such keys. The keys are told apart
    in NumPy (`np.unique` of the rows of indices and values), so an account costs no Python
    unless its reasons name its engagement, contacts or topics."""
    ids = np.asarray(ids, dtype=np.int64)
    chosen = ids[np.asarray(advanced, dtype=bool)].tolist() if len(ids) else []
    trends = _kind_trends(chosen, now) if chosen else {}
    seniors = _senior_contacts(chosen, now) if chosen else {}
    if topics is None:
        topics = {pk: tuple(value) for pk, value in Account.objects.filter(
            pk__in=rowsets.ids(chosen)).exclude(surging_topics=[]).values_list(
                "pk", "surging_topics")} if chosen else {}
    else:
        chosen_set = set(chosen)
        topics = {pk: value for pk, value in topics.items() if value and pk in chosen_set}
    language = get_language()
    n = len(ids)
    convert = as_text or (lambda words: words)
    cache = {} if cache is None else cache
    if not n:
        return (np.empty(0, dtype=object), np.empty((0, 16), dtype=np.uint8)) if as_text \
            else []
    top = _top3(contributions)
    rows = np.arange(n)[:, None]
    positive = contributions[rows, top] > 0
    # The strongest pushes are sorted, so the positive ones come first: a reason stops at
    # the first push that is not positive.
    kept = positive.copy()
    kept[:, 1] &= kept[:, 0]
    kept[:, 2] &= kept[:, 1]
    picked = X[rows, top].astype(np.float64)
    # Counts are words by their whole value; coverage (a share) as it is. (+ 0.0 makes a
    # -0.0 the 0.0 it equals, as a key: both say the same words.)
    values = np.where(top == NAMES.index("coverage"), picked, np.rint(picked))
    keys = np.concatenate([np.where(kept, top, -1), np.where(kept, values, 0.0)],
                          axis=1) + 0.0
    # Told apart as 48-byte strings (a sort of 5,000 such strings takes under a millisecond;
    # `np.unique(…, axis=0)` sorts field by field, five times slower).
    distinct, inverse = np.unique(keys.view(np.dtype((np.void, keys.itemsize * 6))).ravel(),
                                  return_inverse=True)
    distinct = distinct.view(np.float64).reshape(-1, 6)
    said = np.empty(len(distinct), dtype=object)
    for k, key in enumerate(map(tuple, distinct.tolist())):
        words = cache.get(key)
        if words is None:
            tops = [int(j) for j in key[:3] if j >= 0]
            words = cache[key] = convert(_row_words(tops, key[3:3 + len(tops)], language))
        said[k] = words
    out = said[inverse.ravel()]
    if as_text:  # the distinct texts' digests, picked by the same inverse
        hashed = np.frombuffer(b"".join(map(_digest, said)), dtype=np.uint8).reshape(-1, 16)
        out_digests = hashed[inverse.ravel()]
    named = set(trends) | set(seniors) | set(topics)
    if named:
        for i in np.flatnonzero(np.isin(ids, list(named))).tolist():
            pk = int(ids[i])
            key = keys[i].tolist()
            tops = [int(j) for j in key[:3] if j >= 0]
            out[i] = convert(_row_words(tops, key[3:3 + len(tops)], language,
                                        trend=trends.get(pk), senior=seniors.get(pk),
                                        topics=topics.get(pk, ())))
            if as_text:
                out_digests[i] = np.frombuffer(_digest(out[i]), dtype=np.uint8)
    return (out, out_digests) if as_text else out.tolist()


# Scoring --------------------------------------------------------------------------------

def active_model():
    """(the active InMarketModel or None, its loaded payload or None)."""
    model = InMarketModel.objects.filter(is_active=True).first()
    if model is None or model.is_fallback or not model.payload:
        return model, None
    return model, learn.loads(model.payload)


def accounts_score(*, now, account_ids=None, model=None, payload=None):
    """Score the accounts (all: None) from their snapshot of the current week. Returns
    {"scored", "six_qa", "became_6qa", "qualified", "model_version", "fallback"}.

    A chunk at a time, each read in one statement with the mark of the scores last written
    (on the week's snapshot row, `sql.training.MARK`; the accounts whose row has none are
    read as they stand); the probabilities, stages, 6QA and reasons are worked out for the
    whole chunk in NumPy, and only the accounts whose scores changed are written and
    announced: a rescoring leaves most accounts as they were, and those cost no Python per
    account beyond a comparison of arrays (docs/internals/performance.md, "The in-market
    model")."""
    config = InMarketSettings.current()
    if model is None:
        model, payload = active_model()
    version = model.version if model else None
    features, stats = (model.features, model.metrics.get("stats", {})) if payload is not None \
        else (RULE_FEATURES, {})
    effects = _effects(features)
    # Reasons as the database gives them back as text (`in_market_reasons::text` on
    # PostgreSQL, the JSON Django wrote on SQLite), so that unchanged reasons compare equal
    # as strings: jsonb prints non-ASCII as it is, Django's JSON on SQLite escapes it.
    as_text = functools.partial(json.dumps, ensure_ascii=not is_pg())
    cache = {}
    week = week_of(now)
    totals = {"scored": 0, "six_qa": 0, "became_6qa": 0, "qualified": 0,
              "model_version": version, "fallback": payload is None}
    chunks = _chunk_rows(week, account_ids)
    if readahead.can_read_ahead():
        # The next chunk is read (in a thread, on its own connection) while this one is
        # worked out and written: the chunks are disjoint sets of accounts, so reading the
        # next one's marks before this one commits reads the same marks.
        chunks = readahead.read_ahead(chunks)
    # Closed on the way out, an exception's too: the reading thread stops and is waited for.
    with learn.threads(), contextlib.closing(chunks):
        for chunk in chunks:
            with transaction.atomic():
                counts = _score_chunk(chunk, config=config, payload=payload, stats=stats,
                                      effects=effects, version=version, now=now,
                                      as_text=as_text, cache=cache, week=week)
            for name in ("scored", "six_qa", "became_6qa", "qualified"):
                totals[name] += counts[name]
    return totals


def _chunk_rows(week, account_ids):
    """The week's snapshots with the marks of the scores last written
    (`sql.training.read_scored`), a chunk at a time: all accounts by keyset on the (week,
    account) index, or the given ones by lists of ids."""
    size = tiers_settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    if account_ids is None:
        after = 0
        while True:
            chunk = read_sql.read_scored(week, after=after, limit=size)
            if not chunk[0]:
                return
            yield chunk
            if len(chunk[0]) < size:
                return
            after = chunk[0][-1]
    else:
        for ids in _chunks(account_ids):
            chunk = read_sql.read_scored(week, **ids)
            if chunk[0]:
                yield chunk


def _marked(marks):
    """Which rows of `marks` hold a mark (`sql.training.MARK`) this scoring can read."""
    return ((marks[:, 0] == read_sql.MARK_FORMAT)
            & (marks[:, read_sql.MARK.fields["stage"][1]] < len(STAGES)))


def _current(ids, marks):
    """None when every row of `marks` has a mark, else (the rows without one, their
    probability, 6QA and version as an array (none: NaN), their stages, their reasons as
    JSON text (none: None)) as the accounts hold them now, read in the chunk's transaction
    and locked until it ends: a write of the accounts alongside (another scoring's, a data
    fix's with `marks_clear`) is then either read here or made after this chunk's mark, so
    that the mark written from these values says what the account holds."""
    rows = np.flatnonzero(~_marked(marks))
    if not len(rows):
        return None
    wanted = np.asarray(ids, dtype=np.int64)[rows]
    found, numbers, stages, reasons = read_sql.read_current(wanted.tolist(), lock=True)
    found = np.asarray(found, dtype=np.int64)
    # Both by id; an account deleted since the snapshots were read has no row (NaN, None).
    at = np.minimum(np.searchsorted(found, wanted), max(len(found) - 1, 0))
    present = (found[at] == wanted) if len(found) else np.zeros(len(wanted), dtype=bool)
    current = np.full((len(rows), numbers.shape[1]), np.nan)
    current[present] = numbers[at[present]]
    old_stage = np.full(len(rows), "", dtype=object)
    old_reasons = np.full(len(rows), None, dtype=object)
    if len(found):
        old_stage[present] = np.array(stages, dtype=object)[at[present]]
        old_reasons[present] = np.array(reasons, dtype=object)[at[present]]
    return rows, current, old_stage, old_reasons


def _effects(model_features):
    """Each feature's signed effect, in `NAMES` order."""
    by_name = {row["name"]: row["effect"] for row in model_features}
    return np.array([by_name.get(name, 0.0) for name in NAMES], dtype=np.float64)


def _contributions(X, effects, stats):
    """Each feature's push on each row: its signed effect × how far the row is from the
    training mean (in standard deviations)."""
    mean = np.asarray(stats.get("mean") or [0.0] * len(NAMES))
    std = np.asarray(stats.get("std") or [1.0] * len(NAMES))
    return (X - mean) / np.where(std > 0, std, 1.0) * effects


def _round6(p):
    """`round(value, 6)` of each value, as Python rounds it (what is written and compared).
    NumPy's round (scale, round half to even, divide) agrees except where scaling by 10⁶
    lands within a rounding error of a half: those few are rounded by Python."""
    scaled = p * 1e6
    out = np.rint(scaled) / 1e6
    near_half = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    for i in np.flatnonzero(near_half).tolist():
        out[i] = round(float(p[i]), 6)
    return out


def _marks(probability, version, codes, qualified, digests):
    """The marks of these scores (`sql.training.MARK`), as MARK.itemsize bytes a row."""
    marks = np.zeros(len(codes), dtype=read_sql.MARK)
    marks["format"] = read_sql.MARK_FORMAT
    marks["probability"] = probability
    marks["version"] = np.nan if version is None else version
    marks["stage"] = codes
    marks["is_6qa"] = qualified
    marks["reasons"] = digests
    return marks.view(np.uint8).reshape(len(codes), read_sql.MARK.itemsize)


def _score_chunk(chunk, *, config, payload, stats, effects, version, now, as_text, cache, week):
    ids, raw, old_marks = chunk
    X = learn.matrix(raw)
    p = learn.predict(payload, X, limited=True) if payload is not None else \
        rule_probability(raw, config)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    probability = _round6(p)
    codes = stage_codes(p, raw, config)
    stages = STAGES[codes]
    qualified = six_qa(raw, codes >= DECISION, config)
    if payload is None:
        stats = {"mean": X.mean(axis=0).tolist(), "std": X.std(axis=0).tolist()}
    contributions = _contributions(X.astype(np.float64), effects, stats)
    advanced = codes >= CONSIDERATION
    texts, digests = _reasons(ids, X, contributions, advanced, now, as_text=as_text,
                              cache=cache)

    # An account whose snapshot holds the same mark holds these scores already (the mark is
    # written with them), and one whose mark differs holds the stage and the 6QA its mark
    # says.
    new_marks = _marks(probability, version, codes, qualified, digests)
    # Read (and locked) as late as can be: the lock is held until the chunk commits.
    current = _current(ids, old_marks)
    remark = (new_marks != old_marks).any(axis=1)
    changed = remark.copy()
    old_6qa = old_marks[:, read_sql.MARK.fields["is_6qa"][1]] == 1
    old_stage = STAGES[np.minimum(old_marks[:, read_sql.MARK.fields["stage"][1]],
                                  len(STAGES) - 1)]
    if current is not None:
        # The accounts without a mark, compared with their scores as they stand.
        rows, numbers, stage_now, reasons_now = current
        old_probability, six_now, version_now = numbers.T  # none: NaN
        differs = ((old_probability != probability[rows]) | (stage_now != stages[rows])
                   | ((six_now == 1.0) != qualified[rows])
                   | (~np.isnan(version_now) if version is None else version_now != version))
        # Reasons stored in another spelling of the same JSON (written by an older version,
        # or by hand) are compared as lists; those are few, the rest compare as strings.
        for k in np.flatnonzero(~differs & (reasons_now != texts[rows])).tolist():
            if reasons_now[k] is None or json.loads(reasons_now[k]) != json.loads(
                    texts[rows[k]]):
                differs[k] = True
        changed[rows] = differs
        old_6qa[rows] = six_now == 1.0
        old_stage[rows] = stage_now
    # The marks first, each compare-and-set on the mark read: a scoring that ran alongside
    # and wrote one of these accounts first keeps it (its scores and its mark), and this
    # one writes neither; the next scoring compares again. Then the scores, in the same
    # transaction: a mark never says scores that did not commit.
    marked = scores_sql.write_marks(week, [
        (ids[i], new_marks[i].tobytes(), old_marks[i].tobytes())
        for i in np.flatnonzero(remark).tolist()])
    write = [i for i in np.flatnonzero(changed).tolist() if ids[i] in marked]
    written = {ids[i]: (ids[i], float(probability[i]), stages[i], bool(qualified[i]), version,
                        json.loads(texts[i])) for i in write}
    scores_sql.write(list(written.values()))

    became = [ids[i] for i in write if qualified[i] and not old_6qa[i]]
    lost = [ids[i] for i in write if not qualified[i] and old_6qa[i]]
    stage_moves = [(ids[i], old_stage[i], stages[i]) for i in write
                   if old_stage[i] != stages[i]]
    moved = qualify(became, now=now, version=version) if became else set()
    if became:
        signals.account_6qa.send(sender=Account, account_ids=became, became=True)
    if lost:
        signals.account_6qa.send(sender=Account, account_ids=lost, became=False)
    if stage_moves:
        signals.buying_stage_changed.send(sender=Account, changes=stage_moves)
    # The outbox events (webhooks, plays, owner alerts) in the same transaction as the
    # scores they announce: they exist if and only if the change committed.
    outbox.emit_many(outbox.ACCOUNT_6QA, [
        (pk, {"is_6qa": is_6qa, "buying_stage": written[pk][2],
              "in_market_probability": written[pk][1], "model_version": version})
        for pks, is_6qa in ((became, True), (lost, False)) for pk in pks], occurred_at=now)
    outbox.emit_many(outbox.ACCOUNT_BUYING_STAGE_CHANGED, [
        (pk, {"old_stage": old, "new_stage": new,
              "in_market_probability": written[pk][1], "model_version": version})
        for pk, old, new in stage_moves], occurred_at=now)
    return {"scored": len(ids), "six_qa": int(qualified.sum()), "became_6qa": len(became),
            "qualified": len(moved)}


def marks_clear(*, account_ids=None):
    """Forget the marks of the scores last written (every week's snapshots of the accounts;
    all: None). For whatever writes the accounts' in-market fields besides the scoring (a
    data fix, a restore, a benchmark's reset): the next scoring then compares with the
    accounts as they stand instead of trusting the marks, and writes again what differs."""
    scores_sql.clear_marks(account_ids=account_ids)


def qualify(account_ids, *, now, version=None):
    """The accounts' first 6QA: recorded once; those recorded now move to the funnel's
    `qualified` stage from a stage before it (or from outside the funnel) through the
    funnel's transition service. Returns the ids moved."""
    first = qualify_sql.insert_first([(pk, now, version) for pk in account_ids])
    if not first:
        return set()
    path = funnel_selectors.side_path(Stage.Side.ABM)
    target = next((stage for stage in path if stage.slug == QUALIFIED), None)
    if target is None:
        return set()
    before = {None, *(stage.slug for stage in path if stage.position < target.position)}
    return set(funnel_services.accounts_move(moves=[(pk, now) for pk in sorted(first)],
                                             to_stage=target.slug, only_from=before))
