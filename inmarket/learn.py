"""The model itself, in scikit-learn: the feature matrix built from snapshot rows, the two
candidates (logistic regression on standardised features, gradient boosting) fitted on the
training window, chosen by their AUC on the later calibration window, calibrated there
(isotonic), and measured on the latest, untouched holdout window. Stored with skops, loaded
with an explicit list of the types it may contain (never pickle)."""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .features import NAMES
from .sql.training import READ_COLUMNS

RAW = {name: i for i, name in enumerate(READ_COLUMNS)}


@contextmanager
def threads():
    """Native code limited to ABMCRM_INMARKET_THREADS threads. The estimators' modules are
    imported first: a limit applies only to the libraries already loaded, and OpenMP loaded
    later would run unlimited (a first fit in a process took 10× longer)."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.isotonic  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    from .conf import settings

    with threadpool_limits(limits=settings.ABMCRM_INMARKET_THREADS):
        yield
PERMUTATION_ROWS = 20_000

# The types beyond skops' own safe list a stored model may hold (the boosting's trees);
# anything else refuses to load.
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def matrix(raw):
    """The feature matrix (float32, columns in `features.NAMES` order) of snapshot rows as
    read (`sql.training.READ_COLUMNS`, a float array, NaN for empty values)."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 1:
        raw = raw.reshape(0, len(READ_COLUMNS))
    out = np.zeros((raw.shape[0], len(NAMES)), dtype=np.float32)
    col = {name: i for i, name in enumerate(NAMES)}
    for name in ("fit_score", "fit_criteria_met", "intent_score", "surging_topics",
                 "intent_topics", "engagement_7d", "engagement_30d", "engagement_90d",
                 "engagement_points", "purchase_30d", "contacts_30d", "funnel_position",
                 "won_deals"):
        out[:, col[name]] = np.nan_to_num(raw[:, RAW[name]])
    contact_fit = raw[:, RAW["contact_fit"]]
    out[:, col["has_contact_fit"]] = ~np.isnan(contact_fit)
    out[:, col["contact_fit"]] = np.nan_to_num(contact_fit)
    out[:, col["coverage"]] = np.nan_to_num(raw[:, RAW["coverage"]])
    tier = raw[:, RAW["tier"]]
    for number in (1, 2, 3):
        out[:, col[f"tier_{number}"]] = tier == number
    return out


@dataclass
class Trained:
    kind: str
    estimator: object
    calibrator: object
    metrics: dict
    features: list
    stats: dict = field(default_factory=dict)


def _candidates():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic": Pipeline([("scale", StandardScaler()),
                              ("model", LogisticRegression(max_iter=1000))]),
        "boosting": HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1,
                                                   max_leaf_nodes=31, random_state=0),
    }


def bare_fit(X, y):
    """Fit the candidates and nothing else (the benchmark's floor)."""
    with threads():
        for estimator in _candidates().values():
            estimator.fit(X, y)


def lift_by_decile(y, p):
    """Each tenth of the accounts, most likely first: its rate of deals ÷ the overall rate."""
    order = np.argsort(-p, kind="stable")
    base = float(np.mean(y)) or 1.0
    return [round(float(np.mean(y[part])) / base, 3) if len(part) else 0.0
            for part in np.array_split(order, 10)]


def precision_at(y, p, share=0.1):
    n = max(1, int(round(len(y) * share)))
    top = np.argsort(-p, kind="stable")[:n]
    return float(np.mean(y[top]))


def evaluate(y, p):
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
    try:
        true, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    except ValueError:
        true, predicted = [], []
    return {"auc": None if auc is None else round(auc, 4),
            "lift_by_decile": lift_by_decile(y, p),
            "precision_at_10": round(precision_at(y, p), 4),
            "base_rate": round(float(np.mean(y)), 4) if len(y) else 0.0,
            "calibration": [[round(float(a), 4), round(float(b), 4)]
                            for a, b in zip(predicted, true, strict=True)]}


def _effects(kind, estimator, X_hold, y_hold, stats):
    """[{"name", "effect", "importance"}] strongest first: the logistic regression's
    coefficients on standardised features; for boosting, the permutation importance (AUC
    lost) on the holdout, signed by the direction the feature moves the prediction."""
    if kind == "logistic":
        coefficients = estimator.named_steps["model"].coef_[0]
        rows = [{"name": name, "effect": round(float(c), 4), "importance": round(abs(float(c)), 4)}
                for name, c in zip(NAMES, coefficients, strict=True)]
    else:
        from sklearn.inspection import permutation_importance

        rng = np.random.default_rng(0)
        take = rng.choice(len(y_hold), size=min(PERMUTATION_ROWS, len(y_hold)), replace=False)
        X, y = X_hold[take], y_hold[take]
        result = permutation_importance(estimator, X, y, scoring="roc_auc", n_repeats=3,
                                        random_state=0)
        predicted = estimator.predict_proba(X)[:, 1]
        rows = []
        for j, name in enumerate(NAMES):
            column = X[:, j]
            sign = 0.0
            if np.std(column) > 0 and np.std(predicted) > 0:
                sign = float(np.sign(np.corrcoef(column, predicted)[0, 1]))
            importance = max(0.0, float(result.importances_mean[j]))
            rows.append({"name": name, "effect": round(sign * importance, 4),
                         "importance": round(importance, 4)})
    return sorted(rows, key=lambda row: (-row["importance"], row["name"]))


def train(X_train, y_train, X_cal, y_cal, X_hold, y_hold, *, progress=None):
    """Fit both candidates, choose by AUC on the calibration window, calibrate there, measure
    on the holdout. Returns a `Trained`."""
    with threads():
        return _train(X_train, y_train, X_cal, y_cal, X_hold, y_hold, progress=progress)


def _train(X_train, y_train, X_cal, y_cal, X_hold, y_hold, *, progress=None):
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    candidates, scores, timings = _candidates(), {}, {}
    for step, (kind, estimator) in enumerate(candidates.items(), start=1):
        started = time.perf_counter()
        estimator.fit(X_train, y_train)
        timings[kind] = round(time.perf_counter() - started, 3)
        raw = estimator.predict_proba(X_cal)[:, 1]
        scores[kind] = float(roc_auc_score(y_cal, raw)) if 0 < y_cal.sum() < len(y_cal) \
            else 0.5
        if progress:
            progress(step)
    kind = max(scores, key=lambda name: (scores[name], name == "logistic"))
    estimator = candidates[kind]
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrator.fit(estimator.predict_proba(X_cal)[:, 1], y_cal)
    p_hold = calibrator.predict(estimator.predict_proba(X_hold)[:, 1])
    metrics = evaluate(y_hold, p_hold)
    # Ranking by the uncalibrated score (isotonic steps tie accounts apart).
    raw_hold = estimator.predict_proba(X_hold)[:, 1]
    if 0 < y_hold.sum() < len(y_hold):
        metrics["auc"] = round(float(roc_auc_score(y_hold, raw_hold)), 4)
        metrics["lift_by_decile"] = lift_by_decile(y_hold, raw_hold)
        metrics["precision_at_10"] = round(precision_at(y_hold, raw_hold), 4)
    metrics["candidates"] = {name: {"validation_auc": round(value, 4), "fit_seconds":
                                    timings[name]} for name, value in scores.items()}
    stats = {"mean": [float(v) for v in X_train.mean(axis=0)],
             "std": [float(v) or 1.0 for v in X_train.std(axis=0)]}
    features = _effects(kind, estimator, X_hold, y_hold, stats)
    return Trained(kind=kind, estimator=estimator, calibrator=calibrator, metrics=metrics,
                   features=features, stats=stats)


def predict(payload, X, *, limited=False):
    """Calibrated probabilities of a loaded payload ({"model", "calibrator"}). `limited`:
    the caller already holds `threads()` (entering it costs ~4 ms, a scan of the loaded
    libraries: once per scoring, not once per chunk)."""
    if len(X) == 0:
        return np.zeros(0)
    if limited:
        return _predict(payload, X)
    with threads():
        return _predict(payload, X)


def _predict(payload, X):
    raw = payload["model"].predict_proba(X)[:, 1]
    return payload["calibrator"].predict(raw)


def dumps(trained):
    import skops.io as sio

    return sio.dumps({"model": trained.estimator, "calibrator": trained.calibrator})


def loads(blob):
    """The stored payload, refusing any type outside TRUSTED_TYPES."""
    import skops.io as sio

    data = bytes(blob)
    untrusted = [name for name in sio.get_untrusted_types(data=data)
                 if name not in TRUSTED_TYPES]
    if untrusted:
        raise ValueError(f"The stored model holds types abmcrm does not load: {untrusted}")
    return sio.loads(data, trusted=TRUSTED_TYPES)
