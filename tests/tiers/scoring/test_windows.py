"""The windows a run scores over (tiers/scoring/windows.py)."""
from datetime import timedelta

import pytest

from tests.factories import AccountFactory
from tests.tiers.scoring_helpers import NOW, event, fresh, recompute, signal
from tiers import scoring

pytestmark = pytest.mark.django_db



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
