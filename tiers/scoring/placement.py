"""Tiering: the active rules, tried in priority order, place each unlocked account by its
stored scores. Without capacities a CASE in the database decides, chunk by chunk; a
capacity is a property of the whole population, so then every unlocked account is ranked
(fit, engagement, intent, ACV) and placed greedily."""

from django.db.models import BooleanField, Case, Count, F, IntegerField, Value, When

from ..conf import settings
from ..models import Account, TierRule
from .chunks import account_chunks
from .writes import apply_moves

ROW_FIELDS = ("pk", "tier_id", "tier_rule_id", "fit_score", "intent_score", "engagement_score")


def active_rules():
    return list(TierRule.objects.filter(is_active=True).select_related("tier")
                .order_by("priority", "id"))


def _reason(rule, fit, intent, engagement, note=""):
    scores = f"fit {fit}, intent {intent}, engagement {engagement}"
    if rule is None:
        return f"No tier rule matches ({scores}).{note}"
    return f"Rule #{rule.priority} “{rule.name}” ({scores}).{note}"


def retier_chunk(account_q, *, rules, by=None, moved=None):
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
    return apply_moves(moves, by=by, moved=moved)


def retier(*, account_ids=None, by=None, chunk_size=None, rules=None, moved=None):
    """Place unlocked accounts by the rules (`rules`: the active ones, if already read);
    returns (tier changes, overflow report). `moved`: a set that collects the ids of the
    accounts whose tier changed."""
    chunk_size = chunk_size or settings.ABMCRM_RECOMPUTE_CHUNK_SIZE
    rules = active_rules() if rules is None else rules
    capped = {rule.tier_id: rule.tier.capacity for rule in rules
              if rule.tier.capacity is not None}
    if not capped:
        return sum(retier_chunk(account_q, rules=rules, by=by, moved=moved)
                   for account_q, _, _ in account_chunks(account_ids, chunk_size)), {}

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
            changes += apply_moves(moves, by=by, moved=moved)
            moves = []
    changes += apply_moves(moves, by=by, moved=moved)
    return changes, overflow
