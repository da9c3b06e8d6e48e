"""Unit tests of the scoring rules, their boundaries, the tier rules, capacity, overrides and
locks (services, real database)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from abmcrm.core.exceptions import Conflict, InvalidInput
from tests.factories import AccountFactory, tier
from tests.tiers.scoring_helpers import event, icp, signal
from tiers import scoring, services, signals
from tiers.models import Account, EngagementKind, TierAssignment, TierRule

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def recompute(**kwargs):
    return services.tiers_recompute(now=kwargs.pop("now", NOW), **kwargs)


def fresh(account):
    account.refresh_from_db()
    return account


class TestFit:
    def test_weighted_share_of_criteria_met(self):
        icp(("industry", {"values": ["Software", "finance"]}, 3),
            ("employees", {"min_value": Decimal(200), "max_value": Decimal(1000)}, 1),
            ("technology", {"values": ["Salesforce"]}, 2),
            ("country", {"values": ["Germany"]}, 2))
        match = AccountFactory(industry="software", employees=1000)  # 3 + 1 of 8
        services.account_set_technologies(account=match, names=["Salesforce"])  # + 2
        miss = AccountFactory(industry="retail", employees=None)
        recompute()
        assert fresh(match).fit_score == 75  # 6 / 8
        assert fresh(miss).fit_score == 0

    def test_rounds_half_up_and_ranges_are_inclusive(self):
        icp(("annual_revenue", {"min_value": Decimal(5_000_000)}, 1),
            ("customer_count", {"max_value": Decimal(100)}, 1),
            ("region", {"values": ["EMEA"]}, 1),
            ("funding_stage", {"values": ["seed"]}, 5))
        account = AccountFactory(annual_revenue=5_000_000, customer_count=100, region="x")
        recompute()
        assert fresh(account).fit_score == 25  # 2 / 8 = 25

    def test_explanation_lists_met_and_unmet(self):
        icp(("industry", {"values": ["software"]}, 1),
            ("technology", {"values": ["SAP ERP"]}, 1))
        account = AccountFactory(industry="software")
        recompute()
        from tiers.selectors import account_scores

        fit = account_scores(account=fresh(account), now=NOW)["explanation"]["fit"]
        assert [(c["attribute"], c["matched"]) for c in fit["criteria"]] == [
            ("industry", True), ("technology", False)]
        assert fit["score"] == fresh(account).fit_score == 50

    def test_no_active_profile_means_fit_zero(self):
        account = AccountFactory(fit_score=50)
        recompute()
        assert fresh(account).fit_score == 0


class TestIntent:
    def test_average_exactly_at_threshold_surges(self):
        account = AccountFactory()
        for weeks_ago, score in ((0, 60), (1, 50), (2, 70)):  # average 60
            signal(account, "abm", score, weeks_ago, NOW)
        recompute()
        account = fresh(account)
        assert account.surging_topics == ["abm"] and account.has_recent_intent
        assert account.intent_score == 60

    def test_just_below_threshold_does_not_surge(self):
        account = AccountFactory()
        for weeks_ago, score in ((0, 60), (1, 59), (2, 60)):
            signal(account, "abm", score, weeks_ago, NOW)
        recompute()
        account = fresh(account)
        assert account.surging_topics == [] and not account.has_recent_intent
        assert account.intent_score == 60  # 59.67 rounds to 60: the score, not the surge

    def test_not_above_own_baseline_does_not_surge(self):
        account = AccountFactory()
        signal(account, "abm", 80, 0, NOW)
        signal(account, "abm", 80, 3, NOW)  # baseline weeks (3 to 14 weeks ago)
        signal(account, "crm", 80, 0, NOW)
        signal(account, "crm", 79, 14, NOW)
        signal(account, "old", 99, 15, NOW)  # before the baseline window: ignored
        recompute()
        assert fresh(account).surging_topics == ["crm"]

    def test_topics_strongest_first_and_sources_averaged(self):
        account = AccountFactory()
        signal(account, "b", 70, 0, NOW, source="g2")
        signal(account, "b", 90, 0, NOW, source="bombora")  # 80
        signal(account, "a", 95, 1, NOW)
        recompute()
        account = fresh(account)
        assert account.surging_topics == ["a", "b"]
        assert account.intent_score == 95


class TestEngagement:
    def test_fresh_event_counts_its_weight(self):
        account = AccountFactory()
        event(account, "demo_request", NOW)
        recompute()
        account = fresh(account)
        assert account.engagement_score == 40 and account.has_recent_engagement

    def test_half_life_halves_the_weight(self):
        account = AccountFactory()
        event(account, "demo_request", NOW - timedelta(days=14))
        event(account, "pricing_request", NOW - timedelta(days=28))
        recompute()
        assert fresh(account).engagement_score == 30  # 20 + 10

    def test_event_exactly_90_days_old_counts_older_does_not(self):
        kind = EngagementKind.objects.create(key="big_deal", name="Big", weight=100)
        edge, older = AccountFactory(), AccountFactory()
        event(edge, kind.key, NOW - timedelta(days=90))
        event(older, kind.key, NOW - timedelta(days=90, seconds=1))
        from tiers.scoring import Windows, engagement_rows

        rows = engagement_rows(Q(account_id__in=[edge.pk, older.pk]), Windows.at(NOW))
        assert rows[edge.pk][0] == pytest.approx(100 * 0.5 ** (90 / 14))
        assert older.pk not in rows
        recompute()
        assert fresh(edge).engagement_score == 1 and fresh(older).engagement_score == 0

    def test_impressions_clicks_and_visits_are_not_engagement(self):
        account = AccountFactory()
        for kind in ("ad_impression", "ad_click", "web_visit"):
            for _ in range(5):
                event(account, kind, NOW)
        recompute()
        account = fresh(account)
        assert account.engagement_score == 0 and not account.has_recent_engagement

    def test_recent_engagement_window_is_30_days(self):
        inside, outside = AccountFactory(), AccountFactory()
        event(inside, "meeting", NOW - timedelta(days=30))
        event(outside, "meeting", NOW - timedelta(days=30, seconds=1))
        recompute()
        assert fresh(inside).has_recent_engagement
        outside = fresh(outside)
        assert not outside.has_recent_engagement and outside.engagement_score > 0

    def test_score_caps_at_100(self):
        account = AccountFactory()
        for _ in range(5):
            event(account, "demo_request", NOW)
        recompute()
        assert fresh(account).engagement_score == 100

    def test_account_engaged_is_sent_once_when_it_becomes_engaged(self):
        account = AccountFactory()
        received = []

        def receiver(sender, account, occurred_at, **kwargs):
            received.append((account.pk, occurred_at))

        signals.account_engaged.connect(receiver)
        try:
            event(account, "web_visit", NOW)
            recompute()
            assert received == []
            at = NOW - timedelta(days=2)
            event(account, "pricing_page_visit", at)
            recompute()
            recompute()
            assert received == [(account.pk, at)]
        finally:
            signals.account_engaged.disconnect(receiver)


def _goldilocks(acv, *, intent, engagement, fit_industry="software"):
    account = AccountFactory(estimated_acv=acv, industry=fit_industry)
    if intent:
        signal(account, "abm", 90, 0, NOW)
    if engagement:
        event(account, "demo_request", NOW)
    return account


class TestTierRules:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_default_goldilocks_rules(self):
        t1 = _goldilocks(80_000, intent=True, engagement=True)
        t2 = _goldilocks(20_000, intent=True, engagement=False)
        t3 = _goldilocks(10_000, intent=False, engagement=False)
        low_fit = _goldilocks(80_000, intent=True, engagement=True, fit_industry="retail")
        engaged_no_intent = _goldilocks(80_000, intent=False, engagement=True)
        result = recompute()
        assert fresh(t1).tier == tier(1)
        assert fresh(t2).tier == tier(2)
        assert fresh(t3).tier == tier(3)
        assert fresh(low_fit).tier is None
        assert fresh(engaged_no_intent).tier is None
        assert result.tier_changes == 3
        assert fresh(t1).tier_rule.priority == 10

    def test_first_matching_rule_wins(self):
        account = _goldilocks(80_000, intent=True, engagement=True)
        TierRule.objects.create(name="Everyone engaged to tier 2", tier=tier(2), priority=5,
                                recent_engagement="yes")
        recompute()
        assert fresh(account).tier == tier(2)
        TierRule.objects.filter(priority=5).update(priority=50)
        recompute()
        assert fresh(account).tier == tier(1)

    def test_every_change_writes_history_and_sends_tier_changed(self):
        account = _goldilocks(80_000, intent=True, engagement=True)
        received = []

        def receiver(sender, account, old_tier, new_tier, assignment, by, **kwargs):
            received.append((account.pk, old_tier, new_tier, assignment.pk, by))

        signals.tier_changed.connect(receiver)
        try:
            recompute()
            recompute()  # nothing changes: no new row, no signal
            history = list(TierAssignment.objects.filter(account=account))
            assert len(history) == 1
            row = history[0]
            assert (row.old_tier, row.new_tier, row.by, row.cause) == (None, tier(1), None,
                                                                      "rules")
            assert "Rule #10" in row.reason and "fit 100" in row.reason
            assert received == [(account.pk, None, tier(1), row.pk, None)]
        finally:
            signals.tier_changed.disconnect(receiver)

    def test_losing_the_match_untiers(self):
        account = _goldilocks(80_000, intent=True, engagement=True)
        recompute()
        later = NOW + timedelta(days=40)  # engagement no longer recent, intent gone
        recompute(now=later)
        account = fresh(account)
        assert account.tier is None
        assert "No tier rule matches" in account.tier_assignments.first().reason


class TestCapacity:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 3), ("country", {"values": ["Germany"]}, 1))

    def test_best_get_the_tier_the_rest_fall_to_the_next_rule(self):
        t1 = tier(1)
        t1.capacity = 2
        t1.save()
        TierRule.objects.create(name="Overflow of tier 1", tier=tier(2), priority=15,
                                min_fit=70, recent_intent="yes", recent_engagement="yes")
        best = _goldilocks(60_000, intent=True, engagement=True)
        best.country = "Germany"
        best.save()  # fit 100
        second = _goldilocks(90_000, intent=True, engagement=True)  # fit 75, ACV larger
        third = _goldilocks(70_000, intent=True, engagement=True)  # fit 75
        result = recompute()
        assert fresh(best).tier == tier(1)
        assert fresh(second).tier == tier(1)
        assert fresh(third).tier == tier(2)
        assert result.overflow == {1: {"capacity": 2, "count": 1, "accounts": [third.pk]}}
        assert "Tier 1 is full" in fresh(third).tier_assignments.first().reason

    def test_locked_accounts_use_up_capacity(self):
        t1 = tier(1)
        t1.capacity = 1
        t1.save()
        locked = AccountFactory()
        services.account_tier_override(account=locked, tier=t1, reason="CEO's pick", by=None)
        candidate = _goldilocks(80_000, intent=True, engagement=True)
        result = recompute()
        assert fresh(candidate).tier is None
        assert fresh(locked).tier == t1
        assert result.overflow[1]["accounts"] == [candidate.pk]


class TestOverrideAndLock:
    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_override_locks_against_recompute_and_unlock_returns_to_rules(self, marketer):
        account = _goldilocks(80_000, intent=True, engagement=True)
        recompute()
        assignment = services.account_tier_override(account=fresh(account), tier=tier(3),
                                                    reason="Budget freeze", by=marketer)
        assert (assignment.old_tier, assignment.new_tier, assignment.by) == (tier(1), tier(3),
                                                                             marketer)
        assert assignment.cause == "override" and assignment.reason == "Budget freeze"
        recompute()
        account = fresh(account)
        assert account.tier == tier(3) and account.tier_locked and account.tier_rule is None
        services.account_tier_unlock(account=account, by=marketer)
        account = fresh(account)
        assert account.tier == tier(1) and not account.tier_locked
        assert [a.cause for a in account.tier_assignments.all()] == ["rules", "override",
                                                                     "rules"]

    def test_override_needs_a_reason(self, marketer):
        account = AccountFactory()
        with pytest.raises(InvalidInput):
            services.account_tier_override(account=account, tier=tier(1), reason=" ",
                                           by=marketer)

    def test_stale_override_conflicts(self, marketer):
        account = AccountFactory()
        stale = Account.objects.get(pk=account.pk)
        services.account_tier_override(account=account, tier=tier(1), reason="a", by=marketer)
        with pytest.raises(Conflict):
            services.account_tier_override(account=stale, tier=tier(2), reason="b",
                                           by=marketer)

    def test_unlocking_an_unlocked_account_conflicts(self, marketer):
        with pytest.raises(Conflict):
            services.account_tier_unlock(account=AccountFactory(), by=marketer)


def test_incremental_recompute_touches_only_given_accounts():
    a, b = AccountFactory(), AccountFactory()
    event(a, "demo_request", NOW)
    event(b, "demo_request", NOW)
    result = recompute(account_ids=[a.pk])
    assert result.accounts == 1
    assert fresh(a).engagement_score == 40 and fresh(b).engagement_score == 0
    assert fresh(a).scored_at == NOW and fresh(b).scored_at is None
    later = NOW + timedelta(seconds=5)
    recompute(account_ids=[a.pk], now=later)  # nothing changed: the time stays
    assert fresh(a).scored_at == NOW


def test_windows_follow_settings(settings):
    settings.ABMCRM_SURGE_THRESHOLD = 80
    settings.ABMCRM_ENGAGEMENT_HALF_LIFE_DAYS = 7
    account = AccountFactory()
    signal(account, "abm", 70, 0, NOW)
    event(account, "demo_request", NOW - timedelta(days=7))
    recompute()
    account = fresh(account)
    assert account.surging_topics == [] and account.engagement_score == 20
    assert scoring.Windows.at(NOW).threshold == 80


class TestBatchSignals:
    """A recompute sends the id-only batch signals always, and loads accounts for the
    object-carrying ones only when they have a receiver."""

    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_id_signals_describe_the_changes_and_history_keeps_the_scores(self):
        account = _goldilocks(80_000, intent=True, engagement=True)
        tiered, engaged = [], []

        def on_tiers(sender, changes, by, **kwargs):
            tiered.extend(changes)

        def on_engaged(sender, engaged, **kwargs):
            received.extend(engaged)

        received = engaged
        signals.tiers_changed_ids.connect(on_tiers)
        signals.accounts_engaged_ids.connect(on_engaged)
        try:
            recompute()
            recompute()  # nothing new: nothing sent
        finally:
            signals.tiers_changed_ids.disconnect(on_tiers)
            signals.accounts_engaged_ids.disconnect(on_engaged)
        row = TierAssignment.objects.get(account=account)
        assert tiered == [(account.pk, None, tier(1).pk, row.pk)]
        assert engaged == [(account.pk, NOW)]
        account = fresh(account)
        assert (row.fit_score, row.intent_score, row.engagement_score) == (
            account.fit_score, account.intent_score, account.engagement_score)
        assert row.created_at is not None and row.by is None

    def test_object_signals_carry_loaded_accounts_when_connected(
            self, django_assert_max_num_queries):
        accounts = [_goldilocks(80_000, intent=True, engagement=True) for _ in range(3)]
        batches = []

        def on_tiers(sender, changes, by, **kwargs):
            batches.append(("tiers", [(a.domain, old, new, assignment.reason)
                                      for a, old, new, assignment in changes]))

        def on_engaged(sender, engaged, **kwargs):
            batches.append(("engaged", sorted((a.domain, at) for a, at in engaged)))

        signals.tiers_changed.connect(on_tiers)
        signals.accounts_engaged.connect(on_engaged)
        try:
            recompute()
        finally:
            signals.tiers_changed.disconnect(on_tiers)
            signals.accounts_engaged.disconnect(on_engaged)
        assert batches[0] == ("engaged", sorted((a.domain, NOW) for a in accounts))
        kind, changes = batches[1]
        assert kind == "tiers" and sorted(c[0] for c in changes) == sorted(
            a.domain for a in accounts)
        assert all(c[1:3] == (None, tier(1)) and "Rule #10" in c[3] for c in changes)

    def test_without_object_receivers_no_account_is_loaded(self):
        accounts = [_goldilocks(80_000, intent=True, engagement=True) for _ in range(20)]
        with CaptureQueriesContext(connection) as context:
            recompute()
        account_columns = 'SELECT "tiers_account"."id", "tiers_account"."name"'
        assert not [q for q in context.captured_queries if account_columns in q["sql"]]
        assert TierAssignment.objects.filter(account__in=accounts).count() == 20
        assert all(fresh(a).has_recent_engagement for a in accounts)
