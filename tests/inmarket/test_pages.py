"""The backtest page (marketers and admins)."""

import pytest
from django.utils import timezone

from inmarket import services
from inmarket.models import InMarketModel, TrainingJob

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


TRAIN = "/models/in-market/train/"


class TestTrainButton:
    def test_only_those_the_api_lets_train_see_the_button(self, client, marketer, abm_admin):
        _fallback_version()
        client.force_login(marketer)
        assert 'id="train-button"' not in client.get(URL).content.decode()
        client.force_login(abm_admin)
        html = client.get(URL).content.decode()
        assert 'id="train-button"' in html and 'name="csrfmiddlewaretoken"' in html

    @pytest.mark.parametrize("who", ["rep", "marketer"])
    def test_others_are_refused_and_nothing_starts(self, client, request, who):
        client.force_login(request.getfixturevalue(who))
        assert client.post(TRAIN, {"activate": "on"}).status_code == 403
        assert not TrainingJob.objects.exists()

    def test_anonymous_people_are_sent_to_log_in_and_get_is_not_allowed(self, client,
                                                                         abm_admin):
        assert client.post(TRAIN).status_code == 302
        client.force_login(abm_admin)
        assert client.get(TRAIN).status_code == 405
        assert not TrainingJob.objects.exists()

    def test_the_post_needs_the_csrf_token(self, abm_admin):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.force_login(abm_admin)
        assert strict.post(TRAIN, {"activate": "on"}).status_code == 403
        assert not TrainingJob.objects.exists()

    def test_an_admin_starts_the_apis_job_and_the_page_follows_it(self, client, abm_admin):
        client.force_login(abm_admin)
        response = client.post(TRAIN, {"activate": "on"})
        job = TrainingJob.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"{URL}?job={job.pk}#training"
        assert job.created_by == abm_admin and job.activate is True
        assert job.trigger == TrainingJob.Trigger.REQUEST
        html = client.get(response["Location"]).content.decode()
        assert f"Training #{job.pk} started." in html
        assert f'data-api="/api/v1/models/in-market/train/{job.pk}/"' in html
        assert 'data-status="pending"' in html
        # Followed without JavaScript too, and no second training while this one runs.
        assert '<meta http-equiv="refresh" content="3">' in html
        assert 'id="train-button" disabled' in html
        # The latest running job is followed even without `?job=`.
        assert f'data-job="{job.pk}"' in client.get(URL).content.decode()

    def test_unticked_activate_stores_the_version_inactive(self, client, abm_admin):
        client.force_login(abm_admin)
        client.post(TRAIN, {})
        assert TrainingJob.objects.get().activate is False

    def test_the_finished_job_says_how_it_ended(self, client, abm_admin, settings,
                                                django_capture_on_commit_callbacks):
        settings.ABMCRM_INMARKET_HORIZON_DAYS = 28
        settings.ABMCRM_INMARKET_MIN_POSITIVES = 20
        synthetic_history(accounts=200, weeks=20)
        client.force_login(abm_admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(TRAIN, {"activate": "on"})
        job = TrainingJob.objects.get()
        assert job.status == TrainingJob.Status.DONE
        html = client.get(response["Location"]).content.decode()
        version = job.result["version"]
        assert f"Training #{job.pk} finished: version v{version} is active." in html
        assert f"v{version}" in html and '<meta http-equiv="refresh"' not in html

    def test_a_failed_job_shows_its_reason(self, client, abm_admin):
        job = TrainingJob.objects.create(status=TrainingJob.Status.FAILED, total=5,
                                         message="ValueError: no snapshots")
        client.force_login(abm_admin)
        html = client.get(f"{URL}?job={job.pk}").content.decode()
        assert f"Training #{job.pk} failed: ValueError: no snapshots" in html

    @pytest.mark.parametrize("wanted", ["abc", "-1", "99999999999999999999", "424242", "²", "１"])
    def test_a_bad_job_in_the_address_is_ignored(self, client, abm_admin, wanted):
        client.force_login(abm_admin)
        response = client.get(URL, {"job": wanted})
        assert response.status_code == 200 and response.context["job"] is None


class TestActivate:
    def _versions(self):
        old = _fallback_version()
        new = InMarketModel.objects.create(
            version=2, kind=InMarketModel.Kind.RULE, is_fallback=True, is_active=False,
            trained_at=timezone.now(), horizon_days=90, positives=30, needed_positives=20)
        InMarketModel.objects.filter(pk=old.pk).update(is_active=False)
        InMarketModel.objects.filter(pk=new.pk).update(is_active=True)
        return old, new

    def test_an_admin_rolls_back_to_an_older_version(self, client, abm_admin):
        old, _new = self._versions()
        client.force_login(abm_admin)
        html = client.get(URL).content.decode()
        assert "Roll back to v1" in html and "Activate v2" not in html
        response = client.post(f"/models/in-market/{old.version}/activate/")
        assert response.status_code == 302
        assert list(InMarketModel.objects.filter(is_active=True).values_list(
            "version", flat=True)) == [1]
        assert "Version v1 is active" in client.get(URL).content.decode()

    @pytest.mark.parametrize("who", ["rep", "marketer"])
    def test_others_cannot_activate(self, client, request, who):
        old, _new = self._versions()
        client.force_login(request.getfixturevalue(who))
        assert client.post(f"/models/in-market/{old.version}/activate/").status_code == 403
        assert InMarketModel.objects.get(is_active=True).version == 2
        if who == "marketer":
            assert "Roll back to" not in client.get(URL).content.decode()

    def test_an_unknown_version_is_404(self, client, abm_admin):
        client.force_login(abm_admin)
        assert client.post("/models/in-market/7/activate/").status_code == 404
        assert client.post("/models/in-market/99999999999999/activate/").status_code == 404
