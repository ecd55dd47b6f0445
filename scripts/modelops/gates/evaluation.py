"""Evaluation gate: absolute minimums, and no regression vs the champion beyond the allowed margin.

The regression rule is judged on a paired interval of (challenger - champion): both models are
scored on the same rows, and the lower end of the two-sided interval must stay at or above
-max_regression. Where a closed form exists the interval comes from it; elsewhere from the
paired bootstrap:

- roc_auc: DeLong's interval (`modelops.gates.delong`), the standard for correlated AUCs.
- accuracy, precision, recall, f1: the paired bootstrap with `policy.bootstrap_samples`
  resamples, drawn as counts of confusion cells (`metrics.confusion_resamples`).

`interval="bootstrap"` instead resamples rows for every metric, AUC included: the gate's method
before DeLong, kept as the reference the benchmark and the tests hold DeLong's verdicts to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from modelops.config.environment import EvaluationPolicy, Metric
from modelops.gates.delong import delong_aucs
from modelops.gates.metrics import (
    confusion_resamples,
    level_counts,
    metrics_from_level_counts,
    point_metrics,
    score_levels,
)
from modelops.gates.result import GateResult, fmt

IntervalMethod = Literal["delong", "bootstrap"]
INTERVAL_METHODS: tuple[str, ...] = ("delong", "bootstrap")
_METRICS: dict[str, Metric] = {name: name for name in get_args(Metric)}

# Rows gathered per bootstrap batch: bounds memory at ~8 bytes x this many.
_BATCH_ELEMENTS = 4_000_000
_PREDICTED_CLASS = np.array([False, True])  # the two "levels" of a thresholded prediction


@dataclass(frozen=True)
class _Intervals:
    """One metric's intervals: the challenger's own, and (with a champion) the paired difference."""

    challenger: tuple[float, float]
    delta: tuple[float, float] | None
    method: str  # "delong" or "bootstrap": reported with the row, so a reader knows which it is


def _row_bootstrap(
    y_true: np.ndarray, score_sets: list[np.ndarray], *, policy: EvaluationPolicy, names: tuple[str, ...]
) -> list[np.ndarray]:
    """Metric values over resamples for each score set, on shared resampled rows."""
    n = len(y_true)
    rng = np.random.default_rng(policy.seed)
    levels = [score_levels(scores, policy.decision_threshold) for scores in score_sets]
    batch = max(1, _BATCH_ELEMENTS // n)
    results: list[list[np.ndarray]] = [[] for _ in score_sets]
    done = 0
    while done < policy.bootstrap_samples:
        size = min(batch, policy.bootstrap_samples - done)
        rows = rng.integers(0, n, size=(size, n), dtype=np.int32)
        for index, level in enumerate(levels):
            positives, negatives = level_counts(level, y_true, rows)
            results[index].append(
                metrics_from_level_counts(
                    positives, negatives, predicted_positive=level.predicted_positive, names=names
                )
            )
        done += size
    return [np.vstack(parts) for parts in results]


def _confusion_bootstrap(
    y_true: np.ndarray, score_sets: list[np.ndarray], *, policy: EvaluationPolicy, names: tuple[str, ...]
) -> list[np.ndarray]:
    """Confusion metrics over resamples for each score set, on shared resampled rows."""
    predicted = [scores >= policy.decision_threshold for scores in score_sets]
    rng = np.random.default_rng(policy.seed)
    draws = confusion_resamples(y_true, predicted, resamples=policy.bootstrap_samples, rng=rng)
    return [
        metrics_from_level_counts(positives, negatives, predicted_positive=_PREDICTED_CLASS, names=names)
        for positives, negatives in draws
    ]


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    # A resample with one class (or nothing predicted positive) leaves its metric undefined.
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _bootstrap_intervals(
    samples: list[np.ndarray], names: tuple[str, ...], confidence: float
) -> dict[str, _Intervals]:
    intervals = {}
    for column, name in enumerate(names):
        delta = None
        if len(samples) == 2:
            delta = _percentile_interval(samples[0][:, column] - samples[1][:, column], confidence)
        intervals[name] = _Intervals(
            _percentile_interval(samples[0][:, column], confidence), delta, "bootstrap"
        )
    return intervals


def _delong_intervals(y_true: np.ndarray, score_sets: list[np.ndarray], confidence: float) -> _Intervals:
    fit = delong_aucs(y_true, score_sets)
    delta = None
    if len(score_sets) == 2:
        test = fit.difference(0, 1, confidence=confidence)
        delta = (test.low, test.high)
    return _Intervals(fit.interval(0, confidence=confidence), delta, "delong")


def _intervals(
    y_true: np.ndarray,
    score_sets: list[np.ndarray],
    *,
    names: tuple[str, ...],
    policy: EvaluationPolicy,
    interval: str,
) -> dict[str, _Intervals]:
    if interval == "bootstrap":
        return _bootstrap_intervals(
            _row_bootstrap(y_true, score_sets, policy=policy, names=names), names, policy.confidence
        )
    confusion = tuple(name for name in names if name != "roc_auc")
    intervals = {}
    if confusion:
        samples = _confusion_bootstrap(y_true, score_sets, policy=policy, names=confusion)
        intervals = _bootstrap_intervals(samples, confusion, policy.confidence)
    if "roc_auc" in names:
        intervals["roc_auc"] = _delong_intervals(y_true, score_sets, policy.confidence)
    return intervals


def _method_text(method: str, policy: EvaluationPolicy) -> str:
    return "DeLong" if method == "delong" else f"bootstrap ({policy.bootstrap_samples:,} paired resamples)"


def _metric_names(metrics: Sequence[str]) -> tuple[Metric, ...]:
    if unknown := [name for name in metrics if name not in _METRICS]:
        raise ValueError(f"unknown metric {unknown[0]}")
    return tuple(_METRICS[name] for name in metrics)


def check_evaluation(
    y_true: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None = None,
    *,
    metrics: Sequence[str],
    policy: EvaluationPolicy,
    interval: IntervalMethod = "delong",
) -> GateResult:
    """Score challenger (and champion) on the same labelled holdout and apply the policy.

    `y_true` is 1 for the positive class and 0 otherwise; scores are probabilities of
    the positive class (hard 0/1 predictions work too). `interval` chooses how the intervals
    are computed (see the module docstring); the rules applied to them are the same.
    """
    if interval not in INTERVAL_METHODS:
        raise ValueError(f"interval must be one of {', '.join(INTERVAL_METHODS)}, not {interval!r}")
    y = np.asarray(y_true, dtype=np.int32)
    if y.size == 0:
        return GateResult("evaluation", False, ("the evaluation data has no rows",))
    if y.min() == y.max():
        return GateResult(
            "evaluation", False, ("the evaluation labels hold one class only: metrics are undefined",)
        )
    names = _metric_names(metrics)
    score_sets = [np.asarray(challenger, dtype=float)]
    if champion is not None:
        score_sets.append(np.asarray(champion, dtype=float))
    for scores in score_sets:
        if scores.shape != y.shape or not np.isfinite(scores).all():
            return GateResult("evaluation", False, ("scores must be finite and one per labelled row",))

    points = [
        point_metrics(y, scores, threshold=policy.decision_threshold, names=names) for scores in score_sets
    ]
    intervals = _intervals(y, score_sets, names=names, policy=policy, interval=interval)
    pct = round(policy.confidence * 100)
    reasons: list[str] = []
    table: list[dict[str, object]] = []
    for column, name in enumerate(names):
        value = float(points[0][column])
        found = intervals[name]
        row: dict[str, object] = {
            "metric": name,
            "challenger": value,
            "challenger_ci": list(found.challenger),
            "interval_method": found.method,
        }
        minimum = policy.minimums.get(name)
        row["minimum"] = minimum
        if minimum is not None and not value >= minimum:
            reasons.append(f"{name} {fmt(value)} is below the minimum {fmt(minimum)}")
        if champion is not None and found.delta is not None:
            delta_low, delta_high = found.delta
            row["champion"] = float(points[1][column])
            row["delta"] = value - float(points[1][column])
            row["delta_ci"] = [delta_low, delta_high]
            allowed = policy.max_regression.get(name)
            row["max_regression"] = allowed
            if allowed is not None and not np.isfinite(delta_low):
                # Fails closed: a regression that cannot be measured is not shown to be absent.
                reasons.append(
                    f"{name}: the {pct}% interval of challenger - champion is undefined on these rows "
                    "(too few rows of a class), so the allowed regression cannot be checked"
                )
            elif allowed is not None and not delta_low >= -allowed:
                reasons.append(
                    f"{name} may be worse than the champion by {fmt(-delta_low)} "
                    f"({pct}% {_method_text(found.method, policy)} interval of challenger - champion: "
                    f"[{fmt(delta_low)}, {fmt(delta_high)}]); allowed {fmt(allowed)}"
                )
        table.append(row)
    return GateResult(
        "evaluation",
        not reasons,
        tuple(reasons),
        {
            "rows": int(y.size),
            "confidence": policy.confidence,
            "bootstrap_samples": policy.bootstrap_samples,
            "interval": interval,
            "has_champion": champion is not None,
            "metrics": table,
        },
    )
