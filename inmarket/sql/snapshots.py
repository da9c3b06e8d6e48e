"""Snapshots written set-based: one INSERT … SELECT … ON CONFLICT a chunk of accounts, which
computes in the database, from the raw rows dated no later than `as_of`, every feature of
the chunk at once (intent per topic, engagement by recency, deals, the tier and funnel stage
from their histories). Through the ORM this would be a query per feature and a model
instance per row; a 52-week rebuild writes millions of rows.

No leakage: every source row is filtered on its own time (`occurred_at`, `week`,
`opened_at`, `closed_at`, `created_at` of a tier change) against `as_of`. Firmographic fit
and the buying committee have no history: today's values stand for the past."""

from datetime import UTC, timedelta

from django.db import connection
from django.utils import timezone

from abmcrm.core.db.names import column, table
from funnel.models import Stage, StageTransition
from pipeline.models import Opportunity
from tiers import scoring
from tiers.conf import settings as tiers_settings
from tiers.models import (
    Account,
    EngagementEvent,
    EngagementKind,
    IntentSignal,
    Tier,
    TierAssignment,
)

from .. import features
from ..conf import settings
from ..models import AccountSnapshot
from .dialect import account_filter, date, date_value, days_before, ts, ts_value

INSERT_COLUMNS = ["account", "week", "as_of", "fit_score", "fit_criteria_met", "intent_score",
                  "surging_topics", "intent_topics", "engagement_7d", "engagement_30d",
                  "engagement_90d", "engagement_points", "purchase_30d", "contacts_30d",
                  "contact_fit", "coverage", "tier", "funnel_stage", "open_deals",
                  "open_amount", "won_deals"]


def _fit_met(lo, hi, ids):
    """(SQL, params) of (id, met): how many active ICP criteria each account meets, by the
    tiers app's own criterion expressions (compiled by the ORM, joined as a subquery)."""
    from django.db.models import Case, F, IntegerField, Value, When

    _profile, criteria = scoring.active_criteria()
    if not criteria:
        return None, []
    met = Value(0, output_field=IntegerField())
    for criterion in criteria:
        met = met + Case(When(scoring.criterion_q(criterion), then=Value(1)),
                         default=Value(0), output_field=IntegerField())
    queryset = Account.objects.all()
    queryset = queryset.filter(pk__in=ids) if ids is not None else queryset.filter(
        pk__gte=lo, pk__lte=hi)
    # Aliased, so the subquery's columns have names to join on (`f._acc`, `f._met`).
    sql, params = queryset.annotate(_acc=F("pk"), _met=met).values_list("_acc", "_met") \
        .order_by().query.sql_with_params()
    return sql, list(params)


def write(*, week, as_of, lo=None, hi=None, ids=None, only_missing=False):
    """Write the snapshots of `week` as of `as_of` for the accounts with ids in [lo, hi] or in
    `ids`, replacing theirs of that week (`only_missing`: only accounts without one). An
    upsert: concurrent writers of the same rows never fail.
    Returns the rows written."""
    windows = scoring.Windows.at(as_of)
    snap, acc = table(AccountSnapshot), table(Account)
    a_id = f"a.{column(Account, 'id')}"
    params = []

    def where(col):
        sql, values = account_filter(col, lo=lo, hi=hi, ids=ids)
        params.extend(values)
        return sql

    fit_sql, fit_params = _fit_met(lo, hi, ids)
    ev, kind = table(EngagementEvent), table(EngagementKind)
    ev_acc, ev_at = column(EngagementEvent, "account"), column(EngagementEvent, "occurred_at")
    window_days = tiers_settings.ABMCRM_ENGAGEMENT_WINDOW_DAYS
    scan_days = max(90, window_days)
    purchase = list(settings.ABMCRM_INMARKET_PURCHASE_KINDS) or ["-"]
    half_life = tiers_settings.ABMCRM_ENGAGEMENT_HALF_LIFE_DAYS
    age = days_before(ts(), f"ev.{ev_at}")

    def before(days):
        return ts_value(as_of - timedelta(days=days))

    sig, s_acc = table(IntentSignal), column(IntentSignal, "account")
    s_week, s_topic, s_score = (column(IntentSignal, "week"), column(IntentSignal, "topic"),
                                column(IntentSignal, "score"))
    opp, o_acc = table(Opportunity), column(Opportunity, "account")
    o_open, o_closed = column(Opportunity, "opened_at"), column(Opportunity, "closed_at")
    o_status, o_amount = column(Opportunity, "status"), column(Opportunity, "amount")
    ta, tier = table(TierAssignment), table(Tier)
    tr, stage = table(StageTransition), table(Stage)

    # The SELECT's parameters are collected in the order they appear.
    select_params = [date_value(week), ts_value(as_of)]
    tier_sql = (f"(SELECT t.{column(Tier, 'number')} FROM {ta} h LEFT JOIN {tier} t "
                f"ON t.{column(Tier, 'id')} = h.{column(TierAssignment, 'new_tier')} "
                f"WHERE h.{column(TierAssignment, 'account')} = {a_id} "
                f"AND h.{column(TierAssignment, 'created_at')} <= {ts()} "
                f"ORDER BY h.{column(TierAssignment, 'created_at')} DESC, "
                f"h.{column(TierAssignment, 'id')} DESC LIMIT 1)")
    stage_sql = (f"COALESCE((SELECT st.{column(Stage, 'slug')} FROM {tr} x JOIN {stage} st "
                 f"ON st.{column(Stage, 'id')} = x.{column(StageTransition, 'to_stage')} "
                 f"WHERE x.{column(StageTransition, 'account')} = {a_id} "
                 f"AND x.{column(StageTransition, 'occurred_at')} <= {ts()} "
                 f"ORDER BY x.{column(StageTransition, 'occurred_at')} DESC, "
                 f"x.{column(StageTransition, 'id')} DESC LIMIT 1), '')")
    select_params += [ts_value(as_of), ts_value(as_of)]

    joins = []
    if fit_sql:
        joins.append(f"LEFT JOIN ({fit_sql}) f ON f._acc = {a_id}")
        params_fit = fit_params
        fit_met = "COALESCE(f._met, 0)"
    else:
        params_fit = []
        fit_met = "0"
    # Intent: per topic the recent weeks' and the baseline's averages, then per account. A
    # weekly signal counts from its Monday, up to the snapshot's own day (the recompute's
    # windows reach a day further, which would let next week's signal into a Sunday's).
    intent_join = (
        f"LEFT JOIN (SELECT account_id, FLOOR(MAX(recent) + 0.5) AS score, "
        f"SUM(CASE WHEN recent >= %s AND recent > COALESCE(baseline, 0) THEN 1 ELSE 0 END) "
        f"AS surging, COUNT(*) AS topics FROM (SELECT {s_acc} AS account_id, {s_topic}, "
        f"AVG(CASE WHEN {s_week} >= {date()} THEN {s_score} END) AS recent, "
        f"AVG(CASE WHEN {s_week} < {date()} THEN {s_score} END) AS baseline "
        f"FROM {sig} WHERE {{where}} AND {s_week} >= {date()} AND {s_week} <= {date()} "
        f"GROUP BY {s_acc}, {s_topic}) topic WHERE recent IS NOT NULL "
        f"GROUP BY account_id) i ON i.account_id = {a_id}")
    eng_join = (
        f"LEFT JOIN (SELECT ev.{ev_acc} AS account_id, "
        f"SUM(CASE WHEN ev.{ev_at} > {ts()} THEN 1 ELSE 0 END) AS n7, "
        f"SUM(CASE WHEN ev.{ev_at} > {ts()} THEN 1 ELSE 0 END) AS n30, "
        f"SUM(CASE WHEN ev.{ev_at} > {ts()} THEN 1 ELSE 0 END) AS n90, "
        f"SUM(CASE WHEN ev.{ev_at} > {ts()} THEN k.{column(EngagementKind, 'weight')} * "
        f"POWER(0.5, CASE WHEN {age} > 0 THEN {age} ELSE 0 END / %s) ELSE 0 END) AS points, "
        f"SUM(CASE WHEN ev.{ev_at} > {ts()} AND k.{column(EngagementKind, 'key')} IN "
        f"({', '.join(['%s'] * len(purchase))}) THEN 1 ELSE 0 END) AS purchase, "
        f"COUNT(DISTINCT CASE WHEN ev.{ev_at} > {ts()} THEN "
        f"ev.{column(EngagementEvent, 'contact')} END) AS contacts "
        f"FROM {ev} ev JOIN {kind} k ON k.{column(EngagementKind, 'id')} = "
        f"ev.{column(EngagementEvent, 'kind')} WHERE {{where}} "
        f"AND k.{column(EngagementKind, 'weight')} > 0 AND ev.{ev_at} > {ts()} "
        f"AND ev.{ev_at} <= {ts()} GROUP BY ev.{ev_acc}) e ON e.account_id = {a_id}")
    deal_join = (
        f"LEFT JOIN (SELECT {o_acc} AS account_id, "
        f"SUM(CASE WHEN {o_closed} IS NULL OR {o_closed} > {ts()} THEN 1 ELSE 0 END) "
        f"AS open_deals, SUM(CASE WHEN {o_closed} IS NULL OR {o_closed} > {ts()} "
        f"THEN COALESCE({o_amount}, 0) ELSE 0 END) AS open_amount, "
        f"SUM(CASE WHEN {o_status} = 'won' AND {o_closed} <= {ts()} THEN 1 ELSE 0 END) "
        f"AS won FROM {opp} WHERE {{where}} AND {o_open} <= {ts()} GROUP BY {o_acc}) d "
        f"ON d.account_id = {a_id}")

    insert = ", ".join(column(AccountSnapshot, name) for name in INSERT_COLUMNS)
    missing = ""
    if only_missing:
        missing = (f" AND NOT EXISTS (SELECT 1 FROM {snap} m WHERE "
                   f"m.{column(AccountSnapshot, 'account')} = {a_id} AND "
                   f"m.{column(AccountSnapshot, 'week')} = {date()})")
    # Assemble in the order of the statement, with each part's parameters.
    sql_parts, all_params = [], []

    def add(sql, values=()):
        sql_parts.append(sql)
        all_params.extend(values)

    add(f"INSERT INTO {snap} ({insert}) SELECT {a_id}, {date()}, {ts()}, "
        f"a.{column(Account, 'fit_score')}, {fit_met}, COALESCE(i.score, 0), "
        f"COALESCE(i.surging, 0), COALESCE(i.topics, 0), COALESCE(e.n7, 0), "
        f"COALESCE(e.n30, 0), COALESCE(e.n90, 0), "
        # Rounded: a sum of floats differs in its last digit with the order it is added in.
        f"ROUND(CAST(COALESCE(e.points, 0) AS NUMERIC), 4), "
        f"COALESCE(e.purchase, 0), COALESCE(e.contacts, 0), "
        f"{features.provided('contact_fit')}, {features.provided('coverage')}, "
        f"{tier_sql}, {stage_sql}, COALESCE(d.open_deals, 0), COALESCE(d.open_amount, 0), "
        f"COALESCE(d.won, 0) FROM {acc} a ", select_params)
    if fit_sql:
        add(joins[0], params_fit)
    where_sql = where(f"{s_acc}")
    where_params, params[:] = list(params), []
    add(intent_join.replace("{where}", where_sql),
        [windows.threshold, date_value(windows.intent_recent_start),
         date_value(windows.intent_recent_start), *where_params,
         date_value(windows.intent_baseline_start),
         date_value(timezone.localdate(as_of))])
    where_sql = where(f"ev.{ev_acc}")
    where_params, params[:] = list(params), []
    add(eng_join.replace("{where}", where_sql),
        [before(7), before(30), before(90), before(window_days), ts_value(as_of),
         ts_value(as_of), float(half_life), before(30), *purchase, before(30), *where_params,
         before(scan_days), ts_value(as_of)])
    where_sql = where(f"{o_acc}")
    where_params, params[:] = list(params), []
    add(deal_join.replace("{where}", where_sql),
        [ts_value(as_of), ts_value(as_of), ts_value(as_of), *where_params, ts_value(as_of)])
    where_sql = where(a_id)
    where_params, params[:] = list(params), []
    add(f"WHERE {where_sql}{missing}",
        [*where_params, *([date_value(week)] if only_missing else [])])

    # An upsert, not a delete and an insert: two recomputes racing on the same accounts each
    # write the week's row (the later one stands) instead of one failing on the unique key.
    key = f"{column(AccountSnapshot, 'account')}, {column(AccountSnapshot, 'week')}"
    if only_missing:
        add(f"ON CONFLICT ({key}) DO NOTHING")
    else:
        updates = ", ".join(f"{column(AccountSnapshot, name)} = excluded."
                            f"{column(AccountSnapshot, name)}"
                            for name in INSERT_COLUMNS if name not in ("account", "week"))
        add(f"ON CONFLICT ({key}) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.execute(" ".join(sql_parts), all_params)
        return cursor.rowcount


def as_of_groups(week):
    """{as_of: [account ids]} of the snapshots stored for `week`."""
    snap = table(AccountSnapshot)
    groups = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column(AccountSnapshot, 'as_of')}, "
                       f"{column(AccountSnapshot, 'account')} FROM {snap} "
                       f"WHERE {column(AccountSnapshot, 'week')} = {date()}",
                       [date_value(week)])
        for as_of, account_id in cursor.fetchall():
            if timezone.is_naive(as_of):  # SQLite hands back naive UTC
                as_of = timezone.make_aware(as_of, UTC)
            groups.setdefault(as_of, []).append(account_id)
    return groups
