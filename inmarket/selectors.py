"""Reads of the inmarket app: model versions, training jobs, and the backtest."""

from datetime import timedelta

import numpy as np
from django.utils import timezone

from tiers.models import BuyingStage

from . import learn
from .conf import settings
from .features import LABELS
from .models import InMarketModel, InMarketSettings, TrainingJob
from .services.scoring import active_model, buying_stages, rule_probability
from .services.snapshots import week_of
from .sql import training as read_sql


def model_list():
    """Versions, newest first, without their serialized estimator."""
    return InMarketModel.objects.defer("payload").order_by("-version")


def training_job_list():
    return TrainingJob.objects.select_related("model").defer("model__payload")


def feature_rows(model, limit=10):
    """The features that matter, with their labels: [{"name", "label", "effect",
    "importance"}], strongest first."""
    return [{**row, "label": str(LABELS.get(row["name"], row["name"]))}
            for row in (model.features if model else [])[:limit]]


def backtest(*, now=None):
    """The 6sense-style check of the active model (or the rule): the accounts' snapshots of
    the week ABMCRM_INMARKET_HORIZON_DAYS ago, scored now as they were then, and the share of
    them that opened a deal since — by the buying stage they had then and by decile.
    Returns {"week", "accounts", "opened", "by_stage": [...], "by_decile": [...]} or None
    when there is no snapshot that old."""
    now = now or timezone.now()
    horizon = settings.ABMCRM_INMARKET_HORIZON_DAYS
    week = week_of(now - timedelta(days=horizon))
    ids, raw, labels = read_sql.read(week, labelled_until=now, horizon_days=horizon)
    if not len(ids):
        return None
    _model, payload = active_model()
    config = InMarketSettings.current()
    p = learn.predict(payload, learn.matrix(raw)) if payload is not None else \
        rule_probability(raw, config)
    p = np.asarray(p, dtype=np.float64)
    stages = buying_stages(p, raw, config)
    by_stage = []
    for value, label in BuyingStage.choices:
        mask = stages == value
        n = int(mask.sum())
        by_stage.append({"stage": value, "label": str(label), "accounts": n,
                         "opened": int(labels[mask].sum()),
                         "share": float(labels[mask].mean()) if n else 0.0})
    order = np.argsort(-p, kind="stable")
    by_decile = []
    for i, part in enumerate(np.array_split(order, 10), start=1):
        by_decile.append({"decile": i, "accounts": len(part),
                          "opened": int(labels[part].sum()),
                          "share": float(labels[part].mean()) if len(part) else 0.0})
    return {"week": week, "accounts": len(ids), "opened": int(labels.sum()),
            "share": float(labels.mean()), "by_stage": by_stage, "by_decile": by_decile}
