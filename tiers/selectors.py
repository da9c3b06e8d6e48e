from collections import Counter, defaultdict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Count, Prefetch, Q, Value, When
from django.utils.translation import gettext as _

from abmcrm.core import roles
from abmcrm.core.formats import money
from abmcrm.core.ids import ids_in
from abmcrm.core.text import lookup_keys

from .models import (
    Account,
    CommitteeRole,
    Contact,
    EngagementEvent,
    EngagementKind,
    IcpCriterion,
    IntentSignal,
    RecomputeJob,
    Segment,
    Technology,
    Tier,
    TierAssignment,
    TierRule,
)


def users_by_ref(refs):
    """{ref: user} for refs that are user ids or usernames, in one query."""
    refs = lookup_keys(refs)
    if not refs:
        return {}
    ids = ids_in(refs)
    users = get_user_model().objects.filter(Q(pk__in=ids) | Q(username__in=refs))
    found = {}
    for user in users:
        found[user.username] = user
        found[str(user.pk)] = user
    return {ref: found[ref] for ref in refs if ref in found}


def accounts_by_ref(refs, *, only=None):
    """{lower-cased ref: account} for refs that are ids, external ids or domains, in one query.

    An id wins over an external id that looks like one, which wins over a domain."""
    from .domains import normalise_domain

    refs = lookup_keys(refs)
    if not refs:
        return {}
    ids = ids_in(refs)
    domains = {}
    for ref in refs:
        try:
            domains[normalise_domain(ref)] = ref
        except ValueError:
            pass
    queryset = Account.objects.filter(
        Q(pk__in=ids) | Q(external_id__in=refs) | Q(domain__in=list(domains))
    )
    if only:
        queryset = queryset.only(*only)
    by_id, by_external, by_domain = {}, {}, {}
    for account in queryset:
        by_id[str(account.pk)] = account
        if account.external_id:
            by_external[account.external_id] = account
        by_domain[account.domain] = account
    found = {}
    for ref in refs:
        account = by_id.get(ref) or by_external.get(ref)
        if account is None:
            try:
                account = by_domain.get(normalise_domain(ref))
            except ValueError:
                account = None
        if account is not None:
            found[ref.lower()] = account
    return found


def account_list(*, user):
    """Accounts the user may see (every role reads every account), ready for listing."""
    queryset = Account.objects.select_related("owner", "tier").prefetch_related(
        Prefetch("technologies", queryset=Technology.objects.only("id", "name"))
    )
    if not (roles.has_role(user, *roles.ROLES) or user.has_perm("tiers.view_account")):
        return queryset.none()
    return queryset


def contact_list(*, user):
    queryset = Contact.objects.select_related("account")
    if not (roles.has_role(user, *roles.ROLES) or user.has_perm("tiers.view_contact")):
        return queryset.none()
    return queryset


def tier_list():
    return Tier.objects.annotate(account_count=Count("accounts")).order_by("number")


# Scoring and tiering -----------------------------------------------------------------------

def engagement_kinds_by_key():
    return {kind.key: kind for kind in EngagementKind.objects.all()}


def contacts_by_ref(refs):
    """{(account id, lower-cased ref): contact} for refs that are contact ids or e-mails."""
    refs = {ref.lower() for ref in lookup_keys(refs)}
    if not refs:
        return {}
    ids = ids_in(refs)
    found = {}
    for contact in Contact.objects.filter(Q(pk__in=ids) | Q(email__in=refs)).only(
        "id", "account_id", "email"
    ):
        found[(contact.account_id, str(contact.pk))] = contact
        found[(contact.account_id, contact.email.lower())] = contact
    return found


def intent_signal_list(*, user):
    if not roles.has_role(user, *roles.ROLES):
        return IntentSignal.objects.none()
    return IntentSignal.objects.all()


def engagement_event_list(*, user):
    if not roles.has_role(user, *roles.ROLES):
        return EngagementEvent.objects.none()
    return EngagementEvent.objects.select_related("kind")


def tier_rule_list():
    return TierRule.objects.select_related("tier")


def tier_assignment_list(*, account):
    return TierAssignment.objects.filter(account=account).select_related(
        "old_tier", "new_tier", "rule", "by")


def recompute_job_list(*, user):
    return RecomputeJob.objects.all()


def segment_list():
    return Segment.objects.select_related("created_by")


def segment_accounts(*, segment, user):
    from .filters import AccountFilter

    return AccountFilter(segment.filters, queryset=account_list(user=user)).qs


def segment_counts(segments):
    """{segment id: current number of accounts}, in one query for all segments."""
    from .filters import AccountFilter

    if not segments:
        return {}
    counts = {}
    for segment in segments:
        filterset = AccountFilter(segment.filters, queryset=Account.objects.all())
        counts[f"s{segment.pk}"] = Count(
            "pk", filter=Q(pk__in=filterset.qs.order_by().values("pk")) if filterset.is_valid()
            else Q(pk__in=[])
        )
    totals = Account.objects.order_by().aggregate(**counts)
    return {segment.pk: totals[f"s{segment.pk}"] for segment in segments}


def account_scores(*, account, now=None):
    """An account's scores, tier and the explanation of each, recomputed live from the same
    expressions the recompute uses (so the explanation matches the stored scores as of the
    last recompute, give or take what changed since)."""
    from django.utils import timezone

    from . import scoring

    windows = scoring.Windows.at(now or timezone.now())
    profile, criteria = scoring.active_criteria()
    flags = {f"_c{c.pk}": Case(When(scoring.criterion_q(c), then=Value(True)),
                               default=Value(False), output_field=BooleanField())
             for c in criteria}
    met = Account.objects.filter(pk=account.pk).values(**flags).first() if flags else {}
    technologies = None
    fit_rows, met_weight = [], 0
    for criterion in criteria:
        matched = bool(met.get(f"_c{criterion.pk}"))
        met_weight += criterion.weight if matched else 0
        if criterion.attribute == IcpCriterion.Attribute.TECHNOLOGY:
            if technologies is None:
                technologies = [t.name for t in account.technologies.all()]
            value = technologies
        else:
            value = getattr(account, criterion.attribute)
            if isinstance(value, Decimal):
                value = str(value)
        fit_rows.append({"criterion": criterion.pk, "label": criterion.label,
                         "attribute": criterion.attribute, "weight": criterion.weight,
                         "matched": matched, "value": value})
    total_weight = sum(c.weight for c in criteria)

    topics = scoring.intent_rows(Q(account_id=account.pk), windows).get(account.pk, [])
    topic_rows = sorted(
        ({"topic": topic, "recent_average": round(recent, 1),
          "baseline_average": None if baseline is None else round(baseline, 1),
          "surging": scoring.is_surging(recent, baseline, windows.threshold)}
         for topic, recent, baseline in topics),
        key=lambda row: (-row["recent_average"], row["topic"]),
    )
    multipliers = scoring.Multipliers.current()
    raw, last = scoring.engagement_rows(Q(account_id=account.pk), windows, multipliers).get(
        account.pk, (0.0, None))
    raw = multipliers.for_tier(raw, account.tier_id)
    recent_events = (EngagementEvent.objects.filter(
        account=account, kind__weight__gt=0, occurred_at__gte=windows.engagement_recent_start)
        .select_related("kind", "contact").order_by("-occurred_at")[:20])
    by_kind = Counter()
    for kind_key, n in (EngagementEvent.objects.filter(
            account=account, occurred_at__gte=windows.engagement_start)
            .values("kind__key").annotate(n=Count("pk")).values_list("kind__key", "n")):
        by_kind[kind_key] = n
    last_assignment = tier_assignment_list(account=account).first()
    rule = account.tier_rule
    return {
        "account": account.pk,
        "fit_score": account.fit_score,
        "intent_score": account.intent_score,
        "engagement_score": account.engagement_score,
        "surging_topics": account.surging_topics,
        "has_recent_intent": account.has_recent_intent,
        "has_recent_engagement": account.has_recent_engagement,
        "tier": account.tier.number if account.tier else None,
        "tier_locked": account.tier_locked,
        "tier_rule": None if rule is None else {
            "id": rule.pk, "name": rule.name, "priority": rule.priority,
            "tier": rule.tier.number},
        "scored_at": account.scored_at,
        "contact_fit": account.contact_fit,
        "coverage": account.coverage,
        "missing_roles": account.missing_roles,
        "in_market_probability": account.in_market_probability,
        "buying_stage": account.buying_stage or None,
        "is_6qa": account.is_6qa,
        "model_version": account.in_market_model_version,
        "explanation": {
            "fit": {
                "profile": None if profile is None else {"id": profile.pk, "name": profile.name},
                "score": scoring.fit_score(met_weight, total_weight),
                "met_weight": met_weight, "total_weight": total_weight,
                "criteria": fit_rows,
            },
            "intent": {
                "threshold": windows.threshold,
                "recent_weeks_from": windows.intent_recent_start,
                "baseline_weeks_from": windows.intent_baseline_start,
                "score": scoring.intent_summary(topics, windows)[0],
                "topics": topic_rows,
            },
            "engagement": {
                "score": scoring.engagement_score(raw),
                "points": round(raw, 2),
                "half_life_days": windows.half_life_seconds / 86400,
                "tier_multiplier": multipliers.tiers.get(account.tier_id, 1.0),
                "persona_multipliers": [
                    {"job_function": function or None, "seniority": seniority or None,
                     "multiplier": multiplier}
                    for function, seniority, multiplier in multipliers.personas],
                "window_from": windows.engagement_start,
                "recent_from": windows.engagement_recent_start,
                "last_meaningful_at": last,
                "events_in_window_by_kind": dict(sorted(by_kind.items())),
                "recent_meaningful_events": [
                    {"id": e.pk, "kind": e.kind.key, "kind_name": e.kind.name,
                     "weight": e.kind.weight, "occurred_at": e.occurred_at,
                     "contact": e.contact.email if e.contact else None, "source": e.source}
                    for e in recent_events
                ],
            },
            "committee": account_committee(account=account),
            "tier": {
                "locked": account.tier_locked,
                "reason": last_assignment.reason if last_assignment else None,
                "assigned_at": last_assignment.created_at if last_assignment else None,
                "by": (last_assignment.by.get_username()
                       if last_assignment and last_assignment.by else None),
            },
            # Written by the in-market scoring (the `inmarket` app) with the recompute.
            "in_market": {
                "probability": account.in_market_probability,
                "buying_stage": account.buying_stage or None,
                "is_6qa": account.is_6qa,
                "model_version": account.in_market_model_version,
                "reasons": account.in_market_reasons or [],
            },
        },
    }


def account_committee(*, account):
    """The account's buying committee as stored, and what its tier requires: {"required":
    {role: count}, "coverage", "missing_roles", "contact_fit", "contacts": [{id, name,
    title, buying_role, job_function, seniority, contact_fit, fills_seat}]} (two queries)."""
    required = {}
    if account.tier_id:
        counts = dict(CommitteeRole.objects.filter(tier_id=account.tier_id, count__gt=0)
                      .values_list("buying_role", "count"))
        required = {role: counts[role] for role in Contact.BuyingRole.values if role in counts}
    contacts = list(account.contacts.order_by("-contact_fit", "last_name", "first_name", "id")
                    .only("id", "account_id", "first_name", "last_name", "email", "title",
                          "buying_role",
                          "job_function", "seniority", "contact_fit", "persona_overridden"))
    seats = dict(required)
    rows = []
    for contact in contacts:
        fills = seats.get(contact.buying_role, 0) > 0
        if fills:
            seats[contact.buying_role] -= 1
        rows.append({"id": contact.pk, "name": contact.full_name or contact.email,
                     "title": contact.title, "buying_role": contact.buying_role,
                     "job_function": contact.job_function, "seniority": contact.seniority,
                     "persona_overridden": contact.persona_overridden,
                     "contact_fit": contact.contact_fit, "fills_seat": fills})
    return {"required": required, "coverage": account.coverage,
            "missing_roles": account.missing_roles, "contact_fit": account.contact_fit,
            "contacts": rows}


# Why an account is (or is not) in a tier ---------------------------------------------------

def tier_rule_checks(*, account, rules=None):
    """Each active tier rule, in priority order, with each of its conditions and whether the
    account's stored scores meet it: the account page says which rule placed the account,
    or, for an untiered one, what every rule misses. (The same conditions as
    `TierRule.matches_q`, checked on the account in hand: no query beyond the rules.)"""
    if rules is None:
        rules = TierRule.objects.filter(is_active=True).select_related("tier").order_by(
            "priority", "id")
    Requirement = TierRule.Requirement
    acv = account.estimated_acv
    out = []
    for rule in rules:
        checks = [{"label": _("fit at least %(min)s") % {"min": rule.min_fit},
                   "met": account.fit_score >= rule.min_fit,
                   "has": _("fit %(fit)s") % {"fit": account.fit_score}}]
        if rule.min_acv is not None or rule.max_acv is not None:
            if rule.max_acv is None:
                label = _("ACV at least %(min)s") % {"min": money(rule.min_acv)}
            elif rule.min_acv is None:
                label = _("ACV under %(max)s") % {"max": money(rule.max_acv)}
            else:
                label = _("ACV from %(min)s to under %(max)s") % {
                    "min": money(rule.min_acv), "max": money(rule.max_acv)}
            checks.append({
                "label": label,
                "met": acv is not None and (rule.min_acv is None or acv >= rule.min_acv)
                and (rule.max_acv is None or acv < rule.max_acv),
                "has": _("ACV %(acv)s") % {"acv": money(acv)} if acv is not None
                else _("no ACV estimate")})
        for requirement, flag, yes, no in (
                (rule.recent_intent, account.has_recent_intent, _("recent intent"),
                 _("no recent intent")),
                (rule.recent_engagement, account.has_recent_engagement,
                 _("recent engagement"), _("no recent engagement"))):
            if requirement != Requirement.ANY:
                wanted = requirement == Requirement.YES
                checks.append({"label": yes if wanted else no, "met": flag == wanted,
                               "has": yes if flag else no})
        out.append({"rule": rule, "checks": checks,
                    "met": all(check["met"] for check in checks)})
    return out


# The ICP editor ----------------------------------------------------------------------------

def icp_attribute_values(attribute):
    """The values an ICP criterion on `attribute` can pick from: those present in the data
    (or the field's choices), each with how many accounts have it, [(value, label, count)]
    in label order. One query."""
    if attribute == IcpCriterion.Attribute.TECHNOLOGY:
        rows = (Technology.objects.annotate(n=Count("accounts")).order_by("name")
                .values_list("name", "n"))
        return [(name, name, n) for name, n in rows]
    if attribute not in IcpCriterion.SET_ATTRIBUTES:
        return []
    counts = dict(Account.objects.exclude(**{attribute: ""}).order_by().values(attribute)
                  .annotate(n=Count("pk")).values_list(attribute, "n"))
    field = Account._meta.get_field(attribute)
    if field.choices:
        return [(value, str(label), counts.get(value, 0)) for value, label in field.choices]
    return sorted(((value, value[:1].upper() + value[1:], n) for value, n in counts.items()),
                  key=lambda row: row[1].lower())


def icp_criterion_match_count(criterion):
    """How many accounts meet one criterion (saved or not): the editor's live count."""
    from .scoring import criterion_q

    return Account.objects.filter(criterion_q(criterion)).count()


def icp_criteria_match_counts(criteria):
    """{criterion id: accounts meeting it} for saved criteria, in one query."""
    from .scoring import criterion_q

    if not criteria:
        return {}
    totals = Account.objects.order_by().aggregate(**{
        f"c{criterion.pk}": Count("pk", filter=criterion_q(criterion)) for criterion in criteria})
    return {criterion.pk: totals[f"c{criterion.pk}"] for criterion in criteria}


# ICP discovery -----------------------------------------------------------------------------

RANGE_BANDS = {
    "employees": [0, 50, 200, 1000, 5000, None],
    "annual_revenue": [0, 1_000_000, 5_000_000, 50_000_000, 500_000_000, None],
    "customer_count": [0, 100, 1000, 10_000, None],
}
SUGGESTED_SET_ATTRIBUTES = ("industry", "country", "region", "funding_stage", "maturity")


def _band_label(low, high):
    return f"{low:,}+" if high is None else f"{low:,}–{high - 1:,}"


def icp_suggestions(*, min_renewals=2, limit=50):
    """Attribute values ranked by lift: their share among customers with `min_renewals`+
    renewal cycles ÷ their share among every other account."""
    best_q = Q(is_customer=True, renewal_count__gte=min_renewals)
    totals = Account.objects.aggregate(best=Count("pk", filter=best_q), all=Count("pk"))
    n_best, n_rest = totals["best"], totals["all"] - totals["best"]
    if not n_best:
        return []
    counts = defaultdict(lambda: [0, 0])  # (attribute, value, low, high) → [best, rest]
    for attribute in SUGGESTED_SET_ATTRIBUTES:
        rows = (Account.objects.exclude(**{attribute: ""}).values(attribute)
                .annotate(best=Count("pk", filter=best_q), n=Count("pk"))
                .order_by().values_list(attribute, "best", "n"))
        for value, best, n in rows:
            counts[(attribute, value, None, None)] = [best, n - best]
    for attribute, edges in RANGE_BANDS.items():
        bands = {}
        for low, high in zip(edges, edges[1:], strict=False):
            q = Q(**{f"{attribute}__gte": low})
            if high is not None:
                q &= Q(**{f"{attribute}__lt": high})
            bands[(low, high)] = q
        aggregates = {}
        for i, q in enumerate(bands.values()):
            aggregates[f"b{i}"] = Count("pk", filter=q & best_q)
            aggregates[f"n{i}"] = Count("pk", filter=q)
        totals_ = Account.objects.aggregate(**aggregates)
        for i, (low, high) in enumerate(bands):
            counts[(attribute, _band_label(low, high), low, high)] = [
                totals_[f"b{i}"], totals_[f"n{i}"] - totals_[f"b{i}"]]
    rows = (Technology.accounts.through.objects.values("technology__name")
            .annotate(best=Count("pk", filter=Q(account__is_customer=True,
                                                account__renewal_count__gte=min_renewals)),
                      n=Count("pk"))
            .order_by().values_list("technology__name", "best", "n"))
    for name, best, n in rows:
        counts[("technology", name, None, None)] = [best, n - best]

    suggestions = []
    for (attribute, value, low, high), (best, rest) in counts.items():
        if not best:
            continue
        best_share = best / n_best
        rest_share = rest / n_rest if n_rest else 0.0
        lift = round(best_share / rest_share, 3) if rest_share else None
        # Ranked by lift with add-one smoothing, so that a value one customer has and no
        # other account has does not outrank one most customers share.
        smoothed = ((best + 1) / (n_best + 2)) / ((rest + 1) / (n_rest + 2))
        name = dict(IcpCriterion.Attribute.choices)[attribute]
        suggestions.append({
            "attribute": attribute, "value": str(value), "label": f"{name} {value}",
            "min_value": None if low is None else Decimal(low),
            "max_value": None if high is None else Decimal(high - 1),
            "customers": best, "customers_share": round(best_share, 4),
            "others": rest, "others_share": round(rest_share, 4), "lift": lift,
            "rank_score": round(smoothed, 3),
        })
    suggestions.sort(key=lambda s: (-s["rank_score"], -s["customers"], s["attribute"],
                                    s["value"]))
    return suggestions[:limit]
