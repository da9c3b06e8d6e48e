"""Training: the fallback while there are too few deals, a model chosen by time-split
validation with its metrics when there are enough, versions, the automatic activation rule
and the roll back."""

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from inmarket import learn, services
from inmarket.models import InMarketModel, InMarketSettings
from tests import factories

from .helpers import deal, monday, synthetic_history

pytestmark = pytest.mark.django_db

FAST = {"ABMCRM_INMARKET_HORIZON_DAYS": 28, "ABMCRM_INMARKET_MIN_POSITIVES": 20}


@pytest.fixture
def fast(settings):
    for name, value in FAST.items():
        setattr(settings, name, value)
    return settings


class TestFallback:
    def test_too_few_deals_store_a_fallback_version_that_says_how_many_more(self, settings):
        now = timezone.now()
        accounts = [factories.AccountFactory() for _ in range(5)]
        services.snapshots_rebuild(weeks=30, now=now)
        for account in accounts[:3]:
            deal(account, now - timedelta(days=100))
        model = services.model_train(now=now)
        assert model.is_fallback and model.kind == InMarketModel.Kind.RULE
        assert model.positives == 3
        assert model.needed_positives == 47
        assert model.is_active and model.payload is None
        assert "a model needs 50" in model.note
        assert model.metrics["lift_by_decile"]  # the rule measured on the history

    def test_the_rule_gives_the_probability(self):
        config = InMarketSettings.current()
        raw = np.zeros((3, len(learn.RAW)))
        raw[0, learn.RAW["fit_score"]] = 90
        raw[0, learn.RAW["surging_topics"]] = 2
        raw[0, learn.RAW["purchase_30d"]] = 1
        raw[1, learn.RAW["fit_score"]] = 60
        raw[1, learn.RAW["engagement_30d"]] = 3
        p = services.rule_probability(raw, config)
        assert p[0] == pytest.approx(0.6)
        assert p[1] == pytest.approx(0.02 + 0.58 * 0.6 * 0.35 * 0.7)
        assert p[2] == pytest.approx(0.02 + 0.58 * 0.2 * 0.35 * 0.2)


class TestTraining:
    def test_enough_deals_train_a_model_chosen_on_later_weeks_with_its_metrics(self, fast):
        now = timezone.now()
        synthetic_history(accounts=300, weeks=20, now=now)
        model = services.model_train(now=now)
        assert not model.is_fallback
        assert model.kind in (InMarketModel.Kind.LOGISTIC, InMarketModel.Kind.BOOSTING)
        assert model.is_active and model.version == 1
        assert model.positives >= 20
        metrics = model.metrics
        assert metrics["auc"] > 0.7
        assert len(metrics["lift_by_decile"]) == 10
        assert metrics["lift_by_decile"][0] > 1.5
        assert 0 < metrics["precision_at_10"] <= 1
        assert metrics["calibration"]
        assert set(metrics["candidates"]) == {"logistic", "boosting"}
        # Time split: training ends a horizon before validation begins; the holdout is last.
        windows = metrics["windows"]
        assert windows["train"][1] < windows["calibration"][0] <= windows["calibration"][1] \
            < windows["holdout"][0]
        assert (timezone.datetime.fromisoformat(windows["calibration"][0]).date()
                - timezone.datetime.fromisoformat(windows["train"][1]).date()).days >= 28
        # Only labelled snapshots: none later than now − horizon.
        assert model.window_end <= monday(now - timedelta(days=28))
        names = [row["name"] for row in model.features]
        assert names[0] in ("fit_score", "purchase_30d", "surging_topics", "engagement_30d",
                            "engagement_7d", "engagement_90d", "engagement_points",
                            "contacts_30d", "intent_score", "intent_topics",
                            "fit_criteria_met")
        effects = {row["name"]: row["effect"] for row in model.features}
        assert effects["fit_score"] > 0
        # Stored with skops, loaded with the trusted types only; predicts probabilities.
        payload = learn.loads(model.payload)
        p = learn.predict(payload, np.zeros((2, len(learn.NAMES)), dtype=np.float32))
        assert ((p >= 0) & (p <= 1)).all()

    def test_split_weeks_leaves_a_horizon_between_training_and_validation(self):
        base = timezone.localdate()
        weeks = [base - timedelta(weeks=n) for n in range(20, 0, -1)]
        training, calibration, holdout = services.split_weeks(weeks, 28)
        assert holdout[-1] == weeks[-1] and calibration[-1] < holdout[0]
        assert (calibration[0] - training[-1]).days >= 35
        assert len(calibration) + len(holdout) == 5


class TestVersions:
    def test_a_new_version_activates_unless_its_auc_is_lower_by_more_than_002(self, fast):
        now = timezone.now()
        synthetic_history(accounts=300, weeks=20, now=now)
        first = services.model_train(now=now)
        second = services.model_train(now=now)
        assert second.version == 2 and second.is_active  # same AUC: within the tolerance
        first.refresh_from_db()
        assert not first.is_active
        # The active one now claims a much better AUC: a third version stays inactive.
        InMarketModel.objects.filter(pk=second.pk).update(
            metrics={**second.metrics, "auc": second.metrics["auc"] + 0.05})
        third = services.model_train(now=now)
        assert third.version == 3 and not third.is_active
        assert InMarketModel.objects.get(is_active=True).pk == second.pk

    def test_activation_decision(self):
        def version(auc, fallback=False):
            return InMarketModel(is_fallback=fallback, metrics={"auc": auc})

        decide = services.activation_decision
        assert decide(version(0.6), None)
        assert decide(version(0.6), version(0.9, fallback=True))
        assert not decide(version(None, fallback=True), version(0.7))
        assert decide(version(0.69), version(0.70))
        assert not decide(version(0.67), version(0.70))
        assert decide(version(0.80), version(0.70))

    def test_roll_back_activates_an_older_version_and_rescores(self, fast,
                                                              django_capture_on_commit_callbacks):
        now = timezone.now()
        synthetic_history(accounts=300, weeks=20, now=now)
        first = services.model_train(now=now)
        services.model_train(now=now)
        with django_capture_on_commit_callbacks(execute=True):
            services.model_activate(model=first)
        assert list(InMarketModel.objects.filter(is_active=True)) == [first]
        from tiers.models import RecomputeJob

        assert RecomputeJob.objects.filter(status="done").exists()


class TestLabels:
    """The label of a snapshot: a deal of its account opened in (as_of, as_of + horizon]
    (`sql.training.read`, one join of the week's snapshots with the week's window of
    deals), each snapshot by its own as_of."""

    def test_each_snapshot_is_labelled_by_its_own_window(self):
        from inmarket.models import AccountSnapshot
        from inmarket.sql import training as read_sql

        now = timezone.now().replace(microsecond=0)
        week = monday(now - timedelta(days=30))
        late = timezone.make_aware(datetime.combine(week + timedelta(days=6),
                                                    datetime.min.time())).replace(hour=20)
        early = late - timedelta(days=5)
        horizon = 7
        cases = {  # name: (as_of, deal opened at or None, label)
            "at as_of": (late, late, 0),
            "at the horizon": (late, late + timedelta(days=horizon), 1),
            "past the horizon": (late, late + timedelta(days=horizon, seconds=1), 0),
            "early, inside its window": (early, early + timedelta(days=1), 1),
            "early, only inside the late window": (early, late + timedelta(days=6), 0),
            "no deal of its own": (late, None, 0),
        }
        accounts = {}
        for name, (as_of, opened_at, _label) in cases.items():
            account = factories.AccountFactory(name=name)
            AccountSnapshot.objects.create(account=account, week=week, as_of=as_of)
            if opened_at is not None:
                deal(account, opened_at)
            accounts[account.pk] = name
        deal(factories.AccountFactory(name="another account"), late + timedelta(days=1))

        ids, raw, labels = read_sql.read(week, labelled_until=now, horizon_days=horizon)
        assert raw.shape == (len(cases), len(read_sql.READ_COLUMNS))
        assert {accounts[pk]: int(label) for pk, label in zip(ids.tolist(), labels,
                                                               strict=True)} == {
            name: label for name, (_as_of, _opened, label) in cases.items()}
        ids, raw, labels = read_sql.read(week)  # unlabelled
        assert labels is None and len(ids) == len(cases)
