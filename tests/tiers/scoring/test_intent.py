"""Intent surges (tiers/scoring/intent.py): recent weeks against the baseline."""

import pytest

from tests.factories import AccountFactory
from tests.tiers.scoring_helpers import NOW, fresh, recompute, signal

pytestmark = pytest.mark.django_db



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
