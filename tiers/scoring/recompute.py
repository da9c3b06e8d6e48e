"""A recompute: fit, intent and engagement scoring and rule-based tiering, in the database.

A recompute walks the accounts in chunks (by primary key). For each chunk three GROUP BY
queries compute, in the database, the fit points of every account (one CASE per ICP
criterion), the 3-week and baseline intent averages per topic, and the decayed, weighted
engagement; one more reads the chunk's contacts for the buying committee (`committee`) after
one UPDATE has refreshed their persona fit; only accounts whose scores changed are written
back (`tiers.sql`). Tiers are then assigned from the stored scores by the rules
(`placement`), and the committee of an account that changed tier is redone for its new tier.
An account's engagement is weighted by the tier it had when the chunk was read.

The full recompute and the incremental one (the accounts touched by an ingest) run the very
same code, the latter on a list of ids: they cannot disagree.
"""

import json
from dataclasses import dataclass, field

from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .. import signals
from ..conf import settings
from ..models import Account
from ..sql import write_committees
from .chunks import account_chunks
from .committee import (
    active_personas,
    committee_contacts,
    committee_summary,
    refresh_contact_fits,
    required_committees,
)
from .engagement import Multipliers, engagement_rows, engagement_score
from .fit import active_criteria, fit_points_expression, fit_score
from .intent import intent_rows, intent_summary
from .overlap import ChunkWriter, can_overlap
from .placement import active_rules, retier, retier_chunk
from .windows import Windows
from .writes import write_chunk


@dataclass
class RecomputeResult:
    accounts: int = 0
    scores_changed: int = 0
    newly_engaged: int = 0
    tier_changes: int = 0
    overflow: dict = field(default_factory=dict)
    # What the receivers of `signals.recompute_finished` report, e.g. {"in_market": {…}}.
    extra: dict = field(default_factory=dict)

    def as_dict(self):
        return {"accounts": self.accounts, "scores_changed": self.scores_changed,
                "newly_engaged": self.newly_engaged, "tier_changes": self.tier_changes,
                "overflow": self.overflow, **self.extra}


@dataclass(frozen=True)
class Inputs:
    """What a recompute reads once: the ICP criteria and personas, the tiers' required
    committees and the engagement multipliers."""

    criteria: list
    personas: list
    committees: dict
    multipliers: Multipliers

    @classmethod
    def current(cls):
        return cls(active_criteria()[1], active_personas(), required_committees(),
                   Multipliers.current())


def _decoded(text, new_value, encoded_text):
    """The stored JSON list read as text: decoded only when it differs from the new one's."""
    return new_value if text == encoded_text else json.loads(text)


def chunk_changes(account_q, rows_q, windows, inputs):
    """Compute the scores of one chunk of accounts (reads, and the fit of the chunk's
    contacts where it changed). Returns (changed, announcing): the rows of the accounts whose
    scores changed, (pk, *SCORE_FIELDS values), and {pk: (engaged as read, surging topics as
    read, time of the last meaningful event)} of those among them that, as read, become
    engaged or have a topic that was not surging: what their write announces is decided when
    it is written (`writes.write_chunk`). The committee fields follow the account's current
    tier; `recompute` redoes them for the accounts it moves."""
    if isinstance(inputs, list):  # the ICP criteria alone (callers before personas)
        inputs = Inputs(inputs, active_personas(), required_committees(),
                        Multipliers.current())
    total_weight = sum(c.weight for c in inputs.criteria)
    engagement = engagement_rows(rows_q, windows, inputs.multipliers)
    intent = intent_rows(rows_q, windows)
    refresh_contact_fits(rows_q, inputs.personas)
    contacts = committee_contacts(rows_q)
    # The JSON lists are read as text: decoding 100,000 lists costs more than comparing
    # their text, and only a row whose text differs is decoded to compare its list. Few
    # distinct lists occur, so each is encoded once.
    encoded = {}
    current = (Account.objects.filter(account_q)
               .annotate(_fit_points=fit_points_expression(inputs.criteria),
                         _topics=Cast("surging_topics", TextField()),
                         _missing=Cast("missing_roles", TextField()))
               .order_by()
               .values_list("pk", "fit_score", "intent_score", "engagement_score", "_topics",
                            "has_recent_intent", "has_recent_engagement", "contact_fit",
                            "coverage", "_missing", "_fit_points", "tier_id"))
    changed, announcing = [], {}
    for (pk, fit, intent_score, engagement_score_, topics, has_intent, has_engagement,
         contact_fit, coverage, missing, points, tier_id) in current:
        raw, last_meaningful = engagement.get(pk, (0.0, None))
        new_intent, new_topics = intent_summary(intent.get(pk, ()), windows)
        committee = committee_summary(inputs.committees.get(tier_id, ()),
                                      contacts.get(pk, {}))
        new = (fit_score(points or 0, total_weight), new_intent,
               engagement_score(inputs.multipliers.for_tier(raw, tier_id)),
               new_topics, bool(new_topics), last_meaningful is not None, *committee)
        topics = _decoded(topics, new_topics, _json_text(new_topics, encoded))
        missing = _decoded(missing, committee[2], _json_text(committee[2], encoded))
        if new != (fit, intent_score, engagement_score_, topics, has_intent, has_engagement,
                   contact_fit, coverage, missing):
            changed.append((pk, *new))
            if (new[5] and not has_engagement
                    or any(topic not in topics for topic in new_topics)):
                announcing[pk] = (has_engagement, topics, last_meaningful)
    return changed, announcing


def _json_text(value, encoded):
    key = tuple(value)
    if key not in encoded:
        encoded[key] = json.dumps(value, ensure_ascii=False)
    return encoded[key]


def refresh_committees(account_ids, *, inputs=None):
    """Recompute and write the committee fields of these accounts (after their tier or
    contacts changed); returns how many changed. Set-based, chunk by chunk."""
    inputs = inputs or Inputs.current()
    changed = 0
    for account_q, rows_q, _ in account_chunks(account_ids,
                                               settings.ABMCRM_RECOMPUTE_CHUNK_SIZE):
        refresh_contact_fits(rows_q, inputs.personas)
        contacts = committee_contacts(rows_q)
        rows = []
        for pk, tier_id, contact_fit, coverage, missing in (
                Account.objects.filter(account_q).order_by()
                .values_list("pk", "tier_id", "contact_fit", "coverage", "missing_roles")):
            new = committee_summary(inputs.committees.get(tier_id, ()), contacts.get(pk, {}))
            if new != (contact_fit, coverage, missing):
                rows.append((pk, *new))
        write_committees(rows)
        changed += len(rows)
    return changed


def recompute(*, account_ids=None, now=None, by=None, progress=None):
    """Rescore and retier all accounts (account_ids None) or the given ones."""
    windows = Windows.at(now or timezone.now())
    chunk_size = settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    inputs = Inputs.current()
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

    overlap = account_ids is None and can_overlap()
    # Overlapped, this thread also places each chunk once its scores are committed (while
    # the next one is written) rather than in a pass of its own afterwards. Only without a
    # capacity: then a tier depends on the account's own scores, not on the population's.
    rules = active_rules()
    by_chunk = overlap and all(rule.tier.capacity is None for rule in rules)
    committed = None
    moved = set()
    with ChunkWriter(overlap=overlap) as write:
        for account_q, rows_q, size in account_chunks(account_ids, chunk_size):
            changed, announcing = chunk_changes(account_q, rows_q, windows, inputs)
            # Returns once the previous chunk's write has committed.
            write(lambda counts, size=size: written(size, counts),
                  write_chunk, account_q, changed, announcing, windows=windows)
            if committed is not None:
                result.tier_changes += retier_chunk(committed, rules=rules, by=by,
                                                    moved=moved)
            committed = account_q if by_chunk else None
    if committed is not None:
        result.tier_changes += retier_chunk(committed, rules=rules, by=by, moved=moved)
    if not by_chunk:
        result.tier_changes, result.overflow = retier(account_ids=account_ids, by=by,
                                                      rules=rules, moved=moved)
    # The committee an account needs is its tier's: redo it for the accounts just moved.
    if moved and inputs.committees:
        refresh_committees(sorted(moved), inputs=inputs)
    for _receiver, response in signals.recompute_finished.send(
            sender=Account, account_ids=account_ids, now=windows.now, result=result):
        if isinstance(response, dict):
            result.extra.update(response)
    return result
