"""The recompute (tiers/scoring/recompute.py): incremental runs and the batch signals."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AccountFactory, tier
from tests.tiers.scoring_helpers import NOW, event, fresh, goldilocks, icp, recompute
from tiers import signals
from tiers.models import TierAssignment

pytestmark = pytest.mark.django_db



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

class TestBatchSignals:
    """A recompute sends the id-only batch signals always, and loads accounts for the
    object-carrying ones only when they have a receiver."""

    @pytest.fixture(autouse=True)
    def profile(self):
        icp(("industry", {"values": ["software"]}, 1))

    def test_id_signals_describe_the_changes_and_history_keeps_the_scores(self):
        account = goldilocks(80_000, intent=True, engagement=True)
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
        accounts = [goldilocks(80_000, intent=True, engagement=True) for _ in range(3)]
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
        accounts = [goldilocks(80_000, intent=True, engagement=True) for _ in range(20)]
        with CaptureQueriesContext(connection) as context:
            recompute()
        account_columns = 'SELECT "tiers_account"."id", "tiers_account"."name"'
        assert not [q for q in context.captured_queries if account_columns in q["sql"]]
        assert TierAssignment.objects.filter(account__in=accounts).count() == 20
        assert all(fresh(a).has_recent_engagement for a in accounts)
