"""The backtest page (marketers and admins)."""

import pytest

from inmarket import services

from .helpers import synthetic_history
from .test_api import _fallback_version

pytestmark = pytest.mark.django_db

URL = "/models/in-market/"


def test_reps_are_refused_and_anonymous_people_sent_to_log_in(client, rep):
    assert client.get(URL).status_code == 302
    client.force_login(rep)
    assert client.get(URL).status_code == 403


def test_the_fallback_says_how_many_more_deals_are_needed(client, marketer):
    _fallback_version()
    client.force_login(marketer)
    html = client.get(URL).content.decode()
    assert "Not enough deals to train a model yet" in html
    assert "a model needs 50: 38 more" in html


def test_a_trained_model_shows_its_metrics_the_backtest_and_its_features(client, abm_admin,
                                                                         settings):
    settings.ABMCRM_INMARKET_HORIZON_DAYS = 28
    settings.ABMCRM_INMARKET_MIN_POSITIVES = 20
    synthetic_history(accounts=300, weeks=20)
    model = services.model_train()
    client.force_login(abm_admin)
    response = client.get(URL)
    html = response.content.decode()
    assert f"v{model.version}" in html
    assert str(model.metrics["auc"]) in html
    assert html.count('class="bar"') == 15  # five stages and ten deciles
    assert 'class="backtest-stage-chart"' in html and 'class="backtest-decile-chart"' in html
    assert 'data-feature="fit_score"' in html
    check = response.context["check"]
    assert check["accounts"] == 300
    deciles = [row["share"] for row in check["by_decile"]]
    assert deciles[0] > deciles[-1]  # the likeliest tenth opened more deals than the last
