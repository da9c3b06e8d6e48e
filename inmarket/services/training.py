"""Training the in-market model on the snapshots (a job: requested, or weekly by beat),
versions and their activation."""

import logging
import time
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from abmcrm.core import jobs

from .. import learn
from ..conf import settings
from ..features import NAMES
from ..models import InMarketModel, InMarketSettings, TrainingJob
from ..sql import training as read_sql
from .scoring import RULE_FEATURES, accounts_score, rule_probability

logger = logging.getLogger(__name__)

STEPS = 5


def _read(weeks, *, until, horizon):
    """{week: (account ids, raw rows, labels)} of the labelled snapshots without an open
    deal, bounded by ABMCRM_INMARKET_MAX_TRAINING_ROWS (the latest weeks kept first)."""
    data, total = {}, 0
    for week in reversed(weeks):
        ids, raw, labels = read_sql.read(week, labelled_until=until, horizon_days=horizon,
                                         exclude_open=True)
        if not len(ids):
            continue
        if total + len(ids) > settings.ABMCRM_INMARKET_MAX_TRAINING_ROWS:
            break
        total += len(ids)
        data[week] = (ids, raw, labels)
    return dict(sorted(data.items()))


def _stack(data, weeks):
    parts = [data[week] for week in weeks if week in data]
    if not parts:
        return np.zeros((0, len(NAMES)), dtype=np.float32), np.zeros(0, dtype=np.int8)
    raw = np.concatenate([part[1] for part in parts])
    return learn.matrix(raw), np.concatenate([part[2] for part in parts])


def split_weeks(weeks, horizon_days):
    """(training, calibration, holdout) weeks: the latest quarter of the labelled weeks (at
    least two) is the validation window — its earlier half chooses and calibrates the model,
    its later half is the holdout the metrics are measured on — and training takes only the
    weeks whose label window ends before validation begins (no overlap of what is learnt and
    what is tested)."""
    if len(weeks) < 3:
        return [], [], []
    n_val = max(2, round(len(weeks) * 0.25))
    validation = weeks[-n_val:]
    cut = max(1, len(validation) // 2)
    calibration, holdout = validation[:cut], validation[cut:]
    gap = timedelta(days=horizon_days + 7)
    training = [week for week in weeks if week + gap <= validation[0]]
    return training, calibration, holdout


def model_train(*, now=None, progress=None, activate=True):
    """Train a new version on the labelled snapshots (as of no later than now − horizon), or
    store a fallback version when too few accounts opened a deal. Activates it by the rule
    of `activation_decision`. Returns the InMarketModel."""
    now = now or timezone.now()
    horizon = settings.ABMCRM_INMARKET_HORIZON_DAYS
    minimum = settings.ABMCRM_INMARKET_MIN_POSITIVES
    until = now - timedelta(days=horizon)
    started = time.perf_counter()
    weeks = read_sql.weeks(until=until)
    data = _read(weeks, until=until, horizon=horizon)
    weeks = list(data)
    step = 1
    if progress:
        progress(step)
    accounts = set()
    positive_accounts = set()
    rows = 0
    for ids, _raw, labels in data.values():
        accounts.update(ids.tolist())
        positive_accounts.update(ids[labels == 1].tolist())
        rows += len(ids)
    fields = {"trained_at": now, "horizon_days": horizon, "accounts": len(accounts),
              "rows": rows, "positives": len(positive_accounts),
              "window_start": weeks[0] if weeks else None,
              "window_end": weeks[-1] if weeks else None}
    training, calibration, holdout = split_weeks(weeks, horizon)
    X_train, y_train = _stack(data, training)
    X_cal, y_cal = _stack(data, calibration)
    X_hold, y_hold = _stack(data, holdout)
    note = ""
    if len(positive_accounts) < minimum:
        note = (f"{len(positive_accounts)} accounts opened a deal within {horizon} days of a "
                f"snapshot; a model needs {minimum}.")
    elif not (y_train.sum() and 0 < y_cal.sum() < len(y_cal) and 0 < y_hold.sum() < len(y_hold)):
        note = ("The history is too short to train and then test on later weeks: it needs "
                f"snapshots spanning more than twice the horizon ({horizon} days).")
    if note:
        raw_all = np.concatenate([part[1] for part in data.values()]) if data else None
        metrics = {}
        if raw_all is not None:
            labels = np.concatenate([part[2] for part in data.values()])
            metrics = learn.evaluate(labels, rule_probability(raw_all, InMarketSettings.current()))
        metrics["note"] = note
        del data
        return _store(fields, kind=InMarketModel.Kind.RULE, fallback=True, metrics=metrics,
                      features=RULE_FEATURES, payload=None,
                      needed=max(0, minimum - len(positive_accounts)), note=note,
                      activate=activate)
    del data

    def report(done):
        if progress:
            progress(step + done)

    trained = learn.train(X_train, y_train, X_cal, y_cal, X_hold, y_hold, progress=report)
    metrics = {**trained.metrics, "stats": trained.stats,
               "sizes": {"train": int(len(y_train)), "calibration": int(len(y_cal)),
                         "holdout": int(len(y_hold)), "train_positives": int(y_train.sum()),
                         "calibration_positives": int(y_cal.sum()),
                         "holdout_positives": int(y_hold.sum())},
               "windows": {"train": [str(training[0]), str(training[-1])],
                           "calibration": [str(calibration[0]), str(calibration[-1])],
                           "holdout": [str(holdout[0]), str(holdout[-1])]},
               "seconds": round(time.perf_counter() - started, 2)}
    kind = InMarketModel.Kind.LOGISTIC if trained.kind == "logistic" else \
        InMarketModel.Kind.BOOSTING
    return _store(fields, kind=kind, fallback=False, metrics=metrics,
                  features=trained.features, payload=learn.dumps(trained), needed=0, note="",
                  activate=activate)


def activation_decision(new, active):
    """Whether a new version replaces the active one: always over none or over a fallback;
    a fallback never replaces a trained model; a trained one unless its holdout AUC is below
    the active one's by more than ABMCRM_INMARKET_ACTIVATION_TOLERANCE."""
    if active is None or active.is_fallback:
        return True
    if new.is_fallback:
        return False
    tolerance = settings.ABMCRM_INMARKET_ACTIVATION_TOLERANCE
    return (new.auc or 0.0) >= (active.auc or 0.0) - tolerance


def _store(fields, *, kind, fallback, metrics, features, payload, needed, note, activate):
    with transaction.atomic():
        active = InMarketModel.objects.select_for_update().filter(is_active=True).first()
        version = (InMarketModel.objects.aggregate(n=Max("version"))["n"] or 0) + 1
        model = InMarketModel(version=version, kind=kind, is_fallback=fallback,
                              metrics=metrics, features=features, payload=payload,
                              needed_positives=needed, note=note, **fields)
        activate = activate and activation_decision(model, active)
        if activate and active is not None:
            InMarketModel.objects.filter(pk=active.pk).update(is_active=False)
        model.is_active = activate
        model.save()
    return model


def model_activate(*, model):
    """Make `model` the active version (an admin's choice, e.g. a roll back), and rescore
    every account with it in a recompute job. Returns the model."""
    from tiers import services as tiers_services

    with transaction.atomic():
        # Every version locked, in one order: two admins activating two versions at once
        # take turns (locking only the active one let both pass, and the second broke the
        # one-active-version constraint).
        list(InMarketModel.objects.select_for_update().order_by("pk").values_list(
            "pk", flat=True))
        InMarketModel.objects.filter(is_active=True).exclude(
            pk=model.pk).update(is_active=False)
        InMarketModel.objects.filter(pk=model.pk).update(is_active=True)
        model.is_active = True
        tiers_services.recompute_start(user=None)
    return model


# The job --------------------------------------------------------------------------------

def training_start(*, user=None, trigger=TrainingJob.Trigger.REQUEST, activate=True):
    """Create a training job and queue it once committed (a broker that is down leaves it
    pending for the sweeper). `activate`: False stores the new version inactive."""
    job = TrainingJob.objects.create(created_by=user, trigger=trigger, total=STEPS,
                                     activate=activate)
    jobs.job_enqueue(job=job)
    return job


def training_run(*, job, now=None):
    """Run a training job: train, store the version, and rescore the accounts if the active
    version changed. A finished job, or one another worker holds, is left alone; a job always
    ends (done, failed, or handed back for its retry)."""
    if not jobs.job_start(job=job, reset={"done": 0, "total": STEPS}):
        return job

    def report(done):
        job.done = min(done, STEPS)
        jobs.job_heartbeat(job=job, fields=["done", "total"])

    with jobs.job_running(job=job, label="training") as run:
        before = InMarketModel.objects.filter(is_active=True).values_list("pk", flat=True) \
            .first()
        model = model_train(now=now, progress=report, activate=job.activate)
        report(STEPS - 1)
        scored = {}
        if model.is_active and model.pk != before:
            scored = accounts_score(now=timezone.now())
        report(STEPS)
    if run.lost:
        return job
    job.model = model
    job.result = {"version": model.version, "active": model.is_active,
                  "fallback": model.is_fallback, "auc": model.auc,
                  "positives": model.positives, "needed_positives": model.needed_positives,
                  "scored": scored.get("scored", 0)}
    jobs.job_finish(job=job, fields=["result", "model"])
    return job
