"""The gate side: `check_drift`, `check_fairness` and `check_evaluation` with the prod policies.

After the gate's own decisions, the evaluation decision runs once more with the paired row
bootstrap for every metric (`interval="bootstrap"`, the gate's method before DeLong) on the same
data in the same process: its intervals, verdict and time are reported beside the gate's, and are
not part of the gate's total.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelops.bench import data
from modelops.bench.timing import timed, timing
from modelops.config.environment import PromotionPolicy
from modelops.gates import check_drift, check_evaluation, check_fairness
from modelops.gates.evaluation import IntervalMethod

METRICS = ["roc_auc", "accuracy", "f1"]
GROUP_FIELDS = ("count", "selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")


def load(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: data.read(folder, name) for name in ("reference", "current", "holdout")}


def _fairness(holdout: pd.DataFrame, policy: PromotionPolicy):
    # Thresholding the scores is part of the decision, so it sits inside the timer on both sides.
    y = holdout[data.LABEL].to_numpy()
    predicted = (holdout[data.CHALLENGER].to_numpy() >= policy.evaluation.decision_threshold).astype(np.int64)
    sensitive = {feature: holdout[feature] for feature in data.SENSITIVE}
    return check_fairness(y, predicted, sensitive, policy=policy.fairness)


def _evaluation(holdout: pd.DataFrame, policy: PromotionPolicy, interval: IntervalMethod = "delong"):
    return check_evaluation(
        holdout[data.LABEL].to_numpy(),
        holdout[data.CHALLENGER].to_numpy(),
        holdout[data.CHAMPION].to_numpy(),
        metrics=METRICS,
        policy=policy.evaluation,
        interval=interval,
    )


def _interval_rows(evaluation) -> dict[str, Any]:
    return {
        row["metric"]: {
            "delta_ci": row["delta_ci"],
            "interval_method": row["interval_method"],
            "max_regression": row["max_regression"],
        }
        for row in evaluation.to_dict()["metrics"]
    }


def _normalise(drift, fairness, evaluation) -> dict[str, Any]:
    """The gates' results in the shape both sides report, for a column-by-column comparison."""
    columns = [
        {"name": c["name"], "drifted": c["drifted"], "method": c["method"], "score": c["score"]}
        for c in drift.to_dict()["columns"]
    ]
    features = {
        f["feature"]: {
            "demographic_parity_difference": f["demographic_parity_difference"],
            "equalized_odds_difference": f["equalized_odds_difference"],
            "disparate_impact_ratio": f["disparate_impact_ratio"],
            "groups": {g["group"]: {k: g[k] for k in GROUP_FIELDS} for g in f["groups"]},
        }
        for f in fairness.to_dict()["features"]
    }
    metrics = {
        row["metric"]: {
            "challenger": row["challenger"],
            "champion": row["champion"],
            "delta_ci": row["delta_ci"],
        }
        for row in evaluation.to_dict()["metrics"]
    }
    return {
        "drift": {
            "passed": drift.passed,
            "columns": columns,
            "drifted_count": sum(c["drifted"] for c in columns),
        },
        "fairness": {"passed": fairness.passed, "features": features},
        "evaluation": {"passed": evaluation.passed, "metrics": metrics},
        "reasons": [*drift.reasons, *fairness.reasons, *evaluation.reasons],
    }


def run(frames: dict[str, pd.DataFrame], policy: PromotionPolicy, **_: Any) -> dict[str, Any]:
    reference, current, holdout = frames["reference"], frames["current"], frames["holdout"]
    drift, drift_s = timed(check_drift, reference, current, policy=policy.drift)
    fairness, fairness_s = timed(_fairness, holdout, policy)
    evaluation, evaluation_s = timed(_evaluation, holdout, policy)
    reference_run, reference_s = timed(_evaluation, holdout, policy, "bootstrap")
    rows, holdout_rows = f"{len(reference):,}", f"{len(holdout):,}"
    bootstrap = policy.evaluation.bootstrap_samples
    return {
        "timings": [
            timing("drift", drift_s, basis=f"{rows} rows per side"),
            timing("fairness", fairness_s, basis=f"{holdout_rows} rows"),
            timing(
                "evaluation",
                evaluation_s,
                basis=f"{holdout_rows} rows; DeLong for roc_auc, {bootstrap:,} paired resamples "
                "(cell counts) for the rest",
            ),
        ],
        **_normalise(drift, fairness, evaluation),
        "evaluation_methods": {
            "delong": {
                "passed": evaluation.passed,
                "seconds": evaluation_s,
                "metrics": _interval_rows(evaluation),
            },
            "bootstrap": {
                "passed": reference_run.passed,
                "seconds": reference_s,
                "resamples": bootstrap,
                "metrics": _interval_rows(reference_run),
            },
        },
    }
