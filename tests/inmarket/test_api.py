"""The in-market API: versions, training jobs, activation; who may do what; and what the
account scores and list gain."""

import pytest
from django.utils import timezone

from inmarket import services
from inmarket.models import InMarketModel, InMarketSettings, TrainingJob
from tests import factories
from tiers import services as tiers_services

from .helpers import icp, synthetic_history
from .test_scoring import _hot_account

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models/in-market/"
TRAIN = "/api/v1/models/in-market/train/"


def _fallback_version():
    return InMarketModel.objects.create(
        version=1, kind=InMarketModel.Kind.RULE, is_fallback=True, is_active=True,
        trained_at=timezone.now(), horizon_days=90, positives=12, needed_positives=38,
        metrics={"auc": 0.61, "lift_by_decile": [2.0] + [1.0] * 9, "precision_at_10": 0.1},
        features=[{"name": "fit_score", "effect": 1.0, "importance": 1.0}])


class TestPermissions:
    @pytest.mark.parametrize("method, url", [("get", MODELS), ("get", TRAIN),
                                             ("post", TRAIN), ("get", f"{MODELS}1/"),
                                             ("post", f"{MODELS}1/activate/")])
    def test_reps_and_people_without_a_role_are_refused(self, api, rep, nobody, method, url):
        _fallback_version()
        for user in (rep, nobody):
            assert getattr(api.as_user(user), method)(url).status_code == 403

    def test_marketers_read_but_do_not_train_or_activate(self, api, marketer):
        _fallback_version()
        client = api.as_user(marketer)
        assert client.get(MODELS).status_code == 200
        assert client.get(f"{MODELS}1/").status_code == 200
        assert client.post(TRAIN).status_code == 403
        assert client.post(f"{MODELS}1/activate/").status_code == 403
        assert not TrainingJob.objects.exists()

    def test_unknown_versions_are_404(self, api, abm_admin):
        client = api.as_user(abm_admin)
        assert client.get(f"{MODELS}7/").status_code == 404
        assert client.get(f"{MODELS}abc/").status_code == 404
        assert client.post(f"{MODELS}99999999999999/activate/").status_code == 404


class TestVersions:
    def test_the_list_says_fallback_and_how_many_deals_are_needed(self, api, marketer):
        _fallback_version()
        body = api.as_user(marketer).get(MODELS).json()
        row = body["results"][0]
        assert row["version"] == 1 and row["active"] is True and row["fallback"] is True
        assert row["positives"] == 12 and row["needed_positives"] == 38
        assert row["metrics"]["auc"] == 0.61
        assert len(row["metrics"]["lift_by_decile"]) == 10
        assert row["metrics"]["precision_at_10"] == 0.1
        assert set(row) >= {"version", "active", "fallback", "trained_at", "window",
                            "accounts", "positives", "metrics", "features"}

    @pytest.mark.parametrize("versions", [1, 30])
    def test_the_list_is_newest_first_in_a_fixed_number_of_queries(
            self, api, marketer, django_assert_num_queries, versions):
        for n in range(1, versions + 1):
            InMarketModel.objects.create(version=n, kind="rule", is_fallback=True,
                                         trained_at=timezone.now(), horizon_days=90)
        client = api.as_user(marketer)
        with django_assert_num_queries(2):  # the count and the page (the role is cached)
            body = client.get(MODELS).json()
        assert [row["version"] for row in body["results"]] == list(range(versions, 0, -1))

    def test_admins_train_follow_the_job_and_roll_back(
            self, api, abm_admin, settings, django_capture_on_commit_callbacks):
        settings.ABMCRM_INMARKET_HORIZON_DAYS = 28
        settings.ABMCRM_INMARKET_MIN_POSITIVES = 20
        synthetic_history(accounts=300, weeks=20)
        client = api.as_user(abm_admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(TRAIN)
        assert response.status_code == 202
        job = response.json()
        assert {"id", "status", "progress"} <= set(job)
        done = client.get(f"{TRAIN}{job['id']}/").json()
        assert done["status"] == "done" and done["progress"] == 1.0
        assert done["version"] == 1 and done["result"]["active"] is True
        assert done["result"]["fallback"] is False
        with django_capture_on_commit_callbacks(execute=True):
            client.post(TRAIN)
        assert InMarketModel.objects.get(is_active=True).version == 2
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{MODELS}1/activate/")
        assert response.status_code == 200 and response.json()["active"] is True
        assert InMarketModel.objects.get(is_active=True).version == 1
        rows = client.get(MODELS).json()["results"]
        assert [(row["version"], row["active"]) for row in rows] == [(2, False), (1, True)]
        assert rows[1]["features"][0]["name"]

    def test_a_training_job_always_ends_failed_with_a_message(self, api, abm_admin,
                                                              monkeypatch):
        job = TrainingJob.objects.create(total=5)
        from inmarket.services import training

        def broken(**kwargs):
            raise ValueError("the snapshots are unreadable")

        monkeypatch.setattr(training, "model_train", broken)
        with pytest.raises(ValueError):
            services.training_run(job=job)
        job.refresh_from_db()
        assert job.status == "failed" and "unreadable" in job.message


class TestAccounts:
    def test_scores_and_filters_carry_the_in_market_prediction(self, api, marketer):
        config = InMarketSettings.current()
        config.contact_fit_min = 0
        config.save()
        now = timezone.now()
        icp()
        hot = _hot_account(now)
        cold = factories.AccountFactory(industry="retail", employees=5)
        tiers_services.tiers_recompute(now=now)
        client = api.as_user(marketer)
        scores = client.get(f"/api/v1/accounts/{hot.pk}/scores/").json()
        assert scores["in_market_probability"] == pytest.approx(0.6)
        assert scores["buying_stage"] == "purchase" and scores["is_6qa"] is True
        assert scores["model_version"] is None  # the rule: no version trained yet
        block = scores["explanation"]["in_market"]
        assert "CFO engaged" in block["reasons"]

        def ids(query):
            response = client.get(f"/api/v1/accounts/?{query}")
            assert response.status_code == 200, response.json()
            return {row["id"] for row in response.json()["results"]}

        assert ids("is_6qa=true") == {hot.pk}
        assert ids("is_6qa=false") == {cold.pk}
        assert ids("buying_stage=purchase") == {hot.pk}
        assert ids("buying_stage=target&buying_stage=purchase") == {hot.pk, cold.pk}
        assert ids("in_market_min=0.5") == {hot.pk}
        assert client.get("/api/v1/accounts/?in_market_min=2").status_code == 400
        assert client.get("/api/v1/accounts/?buying_stage=ready").status_code == 400
