"""The obvious side: evidently's `DataDriftPreset` with defaults, fairlearn's `MetricFrame`, and a
scikit-learn bootstrap, each followed by the same policy thresholds the gates apply.

Where it runs on less work than the gate (a row subsample for evidently, fewer resamples for
the bootstrap), its time is scaled linearly and the timing record says by how much.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from evidently import Report
from evidently.presets import DataDriftPreset
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from modelops.bench import data
from modelops.bench.timing import timed, timing
from modelops.config.environment import PromotionPolicy

FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "accuracy": accuracy_score,
}
# evidently's default methods at more than 1,000 reference rows: drift at or above the threshold.
DISTANCE_METHODS = {"Wasserstein distance (normed)", "Jensen-Shannon distance"}


def load(folder: Path) -> dict[str, Any]:
    return {
        "reference": data.read(folder, "reference_sample"),
        "current": data.read(folder, "current_sample"),
        "holdout": data.read(folder, "holdout"),
        # Only the row count of the full frames, read from the parquet footer, to scale the time.
        "full_rows": pq.ParquetFile(folder / "reference.parquet").metadata.num_rows,
    }


def evidently_verdict(method: str, score: float, threshold: float) -> bool | None:
    """evidently's own rule for its stat tests: p-values drift below, distances at or above."""
    if "p_value" in method:
        return score < threshold
    if method in DISTANCE_METHODS:
        return score >= threshold
    return None  # a method this benchmark does not expect: reported as a disagreement


def evidently_columns(snapshot: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """Per-column (name, method, score, threshold, verdict) and evidently's own drifted-column count.

    A default `Report` keeps no per-column verdict, only each `ValueDrift`'s score with its
    resolved method and threshold; the count from `DriftedColumnsCount` checks the derivation.
    """
    columns: list[dict[str, Any]] = []
    count = None
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            method, threshold, score = config["method"], config["threshold"], float(metric["value"])
            verdict = evidently_verdict(method, score, threshold)
            columns.append({"name": config["column"], "drifted": verdict, "method": method, "score": score})
        elif config["type"].endswith(":DriftedColumnsCount"):
            count = int(metric["value"]["count"])
    return columns, count


def _drift(reference: pd.DataFrame, current: pd.DataFrame, policy: PromotionPolicy) -> dict[str, Any]:
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    columns, count = evidently_columns(snapshot.dict())
    drifted = sum(bool(c["drifted"]) for c in columns)
    share = drifted / len(columns) if columns else 0.0
    return {
        "passed": share <= policy.drift.max_drifted_share,
        "columns": columns,
        "drifted_count": drifted,
        "evidently_drifted_count": count,
    }


def _fairness(holdout: pd.DataFrame, policy: PromotionPolicy) -> dict[str, Any]:
    rules = policy.fairness
    y = holdout[data.LABEL].to_numpy()
    predicted = (holdout[data.CHALLENGER].to_numpy() >= policy.evaluation.decision_threshold).astype(np.int64)
    features: dict[str, Any] = {}
    passed = True
    for feature in data.SENSITIVE:
        groups = holdout[feature]
        frame = MetricFrame(metrics=FAIRLEARN_METRICS, y_true=y, y_pred=predicted, sensitive_features=groups)
        by_group = frame.by_group.to_dict(orient="index")
        for name, size in groups.value_counts().items():
            by_group[name]["count"] = int(size)
        measured = {
            "demographic_parity_difference": demographic_parity_difference(
                y, predicted, sensitive_features=groups
            ),
            "equalized_odds_difference": equalized_odds_difference(y, predicted, sensitive_features=groups),
            "disparate_impact_ratio": demographic_parity_ratio(y, predicted, sensitive_features=groups),
        }
        passed &= (
            min(g["count"] for g in by_group.values()) >= rules.min_group_size
            and measured["demographic_parity_difference"] <= rules.max_demographic_parity_difference
            and measured["equalized_odds_difference"] <= rules.max_equalized_odds_difference
            and measured["disparate_impact_ratio"] >= rules.min_disparate_impact_ratio
        )
        features[feature] = {k: float(v) for k, v in measured.items()} | {
            "groups": {str(name): {k: float(v) for k, v in row.items()} for name, row in by_group.items()}
        }
    return {"passed": bool(passed), "features": features}


def _sklearn_metrics(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (scores >= threshold).astype(np.int64)
    return {
        "roc_auc": roc_auc_score(y, scores),
        "accuracy": accuracy_score(y, predicted),
        "f1": f1_score(y, predicted),
    }


def _bootstrap_deltas(y, challenger, champion, policy: PromotionPolicy, resamples: int) -> dict[str, list]:
    """Paired resamples: both models scored on the same rows, as the gate does."""
    rng = np.random.default_rng(policy.evaluation.seed)
    threshold = policy.evaluation.decision_threshold
    deltas: dict[str, list[float]] = {"roc_auc": [], "accuracy": [], "f1": []}
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        ours = _sklearn_metrics(y[rows], challenger[rows], threshold)
        theirs = _sklearn_metrics(y[rows], champion[rows], threshold)
        for name, values in deltas.items():
            values.append(ours[name] - theirs[name])
    return deltas


def _evaluation_decision(points, deltas, policy: PromotionPolicy) -> dict[str, Any]:
    rules = policy.evaluation
    tail = (1 - rules.confidence) / 2 * 100
    metrics: dict[str, Any] = {}
    passed = True
    for name, values in deltas.items():
        low, high = (float(v) for v in np.percentile(values, [tail, 100 - tail]))
        challenger, champion = float(points[0][name]), float(points[1][name])
        passed &= challenger >= rules.minimums.get(name, -np.inf)
        passed &= low >= -rules.max_regression.get(name, np.inf)
        metrics[name] = {"challenger": challenger, "champion": champion, "delta_ci": [low, high]}
    return {"passed": bool(passed), "metrics": metrics}


def run(inputs: dict[str, Any], policy: PromotionPolicy, *, resamples: int) -> dict[str, Any]:
    reference, current, holdout = inputs["reference"], inputs["current"], inputs["holdout"]
    drift, drift_s = timed(_drift, reference, current, policy)
    fairness, fairness_s = timed(_fairness, holdout, policy)

    y = holdout[data.LABEL].to_numpy()
    challenger, champion = holdout[data.CHALLENGER].to_numpy(), holdout[data.CHAMPION].to_numpy()
    threshold = policy.evaluation.decision_threshold
    points, point_s = timed(lambda: [_sklearn_metrics(y, s, threshold) for s in (challenger, champion)])
    deltas, bootstrap_s = timed(_bootstrap_deltas, y, challenger, champion, policy, resamples)
    evaluation = _evaluation_decision(points, deltas, policy)

    rows, full_rows, holdout_rows = len(reference), inputs["full_rows"], f"{len(holdout):,}"
    row_scale = full_rows / rows
    drift_basis = (
        f"evidently on {rows:,} of {full_rows:,} rows per side; time scaled x{row_scale:g}"
        if row_scale != 1
        else f"evidently on all {rows:,} rows per side (not scaled)"
    )
    wanted = policy.evaluation.bootstrap_samples
    resample_scale = wanted / resamples
    evaluation_basis = f"{holdout_rows} rows; point metrics + {resamples:,} paired resamples" + (
        f", resample time scaled x{resample_scale:g} to {wanted:,}"
        if resample_scale != 1
        else " (not scaled)"
    )
    return {
        "timings": [
            timing("drift", drift_s, scaled_s=drift_s * row_scale, basis=drift_basis),
            timing("fairness", fairness_s, basis=f"fairlearn on all {holdout_rows} rows (not scaled)"),
            timing(
                "evaluation",
                point_s + bootstrap_s,
                scaled_s=point_s + bootstrap_s * resample_scale,
                basis=evaluation_basis,
            ),
        ],
        "drift": drift,
        "fairness": fairness,
        "evaluation": evaluation,
    }
