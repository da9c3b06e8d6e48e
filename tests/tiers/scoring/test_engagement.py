"""Decaying, weighted engagement (tiers/scoring/engagement.py)."""
from datetime import timedelta

import pytest
from django.db.models import Q

from tests.factories import AccountFactory
from tests.tiers.scoring_helpers import NOW, event, fresh, recompute
from tiers import signals
from tiers.models import EngagementKind

pytestmark = pytest.mark.django_db



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
