"""Evaluation gate: absolute minimums, and no regression vs the champion beyond the allowed margin.

The regression rule is judged on the paired bootstrap interval of
(challenger - champion): both models are scored on the same resampled rows, and
the lower end of the interval must stay above -max_regression.
"""

from __future__ import annotations

import numpy as np

from modelops.config.environment import EvaluationPolicy
from modelops.gates.metrics import level_counts, metrics_from_level_counts, point_metrics, score_levels
from modelops.gates.result import GateResult, fmt

# Rows gathered per bootstrap batch: bounds memory at ~8 bytes x this many.
_BATCH_ELEMENTS = 4_000_000


def _bootstrap(
    y_true: np.ndarray, score_sets: list[np.ndarray], policy: EvaluationPolicy, names: tuple[str, ...]
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
                metrics_from_level_counts(positives, negatives, level.predicted_positive, names)
            )
        done += size
    return [np.vstack(parts) for parts in results]


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def check_evaluation(
    y_true: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None = None,
    *,
    metrics: list[str],
    policy: EvaluationPolicy,
) -> GateResult:
    """Score challenger (and champion) on the same labelled holdout and apply the policy.

    `y_true` is 1 for the positive class and 0 otherwise; scores are probabilities of
    the positive class (hard 0/1 predictions work too).
    """
    y = np.asarray(y_true, dtype=np.int32)
    if y.size == 0:
        return GateResult("evaluation", False, ("the evaluation data has no rows",))
    if y.min() == y.max():
        return GateResult(
            "evaluation", False, ("the evaluation labels hold one class only: metrics are undefined",)
        )
    names = tuple(metrics)
    score_sets = [np.asarray(challenger, dtype=float)]
    if champion is not None:
        score_sets.append(np.asarray(champion, dtype=float))
    for scores in score_sets:
        if scores.shape != y.shape or not np.isfinite(scores).all():
            return GateResult("evaluation", False, ("scores must be finite and one per labelled row",))

    points = [point_metrics(y, scores, policy.decision_threshold, names) for scores in score_sets]
    samples = _bootstrap(y, score_sets, policy, names)
    pct = round(policy.confidence * 100)
    reasons: list[str] = []
    table: list[dict[str, object]] = []
    for column, name in enumerate(names):
        value = float(points[0][column])
        low, high = _interval(samples[0][:, column], policy.confidence)
        row: dict[str, object] = {"metric": name, "challenger": value, "challenger_ci": [low, high]}
        minimum = policy.minimums.get(name)
        row["minimum"] = minimum
        if minimum is not None and not value >= minimum:
            reasons.append(f"{name} {fmt(value)} is below the minimum {fmt(minimum)}")
        if champion is not None:
            row["champion"] = float(points[1][column])
            delta_low, delta_high = _interval(
                samples[0][:, column] - samples[1][:, column], policy.confidence
            )
            row["delta"] = value - float(points[1][column])
            row["delta_ci"] = [delta_low, delta_high]
            allowed = policy.max_regression.get(name)
            row["max_regression"] = allowed
            if allowed is not None and not delta_low >= -allowed:
                reasons.append(
                    f"{name} may be worse than the champion by {fmt(-delta_low)} "
                    f"({pct}% interval of challenger - champion: [{fmt(delta_low)}, {fmt(delta_high)}]); "
                    f"allowed {fmt(allowed)}"
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
            "has_champion": champion is not None,
            "metrics": table,
        },
    )
