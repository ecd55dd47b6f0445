"""Side-by-side agreement of the two sides' results (plain Python: the parent process stays small)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# evidently's names for the methods the gate mirrors (see `modelops.gates.drift_methods`); the gate's
# Jensen-Shannon distance is evidently's with its expected value under no drift taken out.
SAME_METHOD = {
    "Wasserstein distance (normed)": "Wasserstein (normed)",
    "Jensen-Shannon distance": "Jensen-Shannon distance (bias-corrected)",
    "K-S p_value": "K-S p-value",
    "chi-square p_value": "chi-square p-value",
    "Z-test p_value": "Z-test p-value",
}
# np.allclose's defaults, applied value by value.
RTOL, ATOL = 1e-5, 1e-8


@dataclass(frozen=True)
class ColumnVerdicts:
    name: str
    gate: dict[str, Any] | None
    obvious: dict[str, Any] | None

    @property
    def agree(self) -> bool:
        if self.gate is None or self.obvious is None or self.obvious["drifted"] is None:
            return False
        same_method = SAME_METHOD.get(self.obvious["method"]) == self.gate["method"]
        return same_method and self.gate["drifted"] == self.obvious["drifted"]


@dataclass(frozen=True)
class NumberPair:
    where: str
    gate: float | None
    obvious: float | None

    @property
    def close(self) -> bool:
        if self.gate is None or self.obvious is None:
            return self.gate is None and self.obvious is None  # both undefined (NaN) is agreement
        return math.isclose(self.gate, self.obvious, rel_tol=RTOL, abs_tol=ATOL)


def column_verdicts(gate: dict[str, Any], obvious: dict[str, Any]) -> list[ColumnVerdicts]:
    ours = {c["name"]: c for c in gate["drift"]["columns"]}
    theirs = {c["name"]: c for c in obvious["drift"]["columns"]}
    names = [*ours, *(n for n in theirs if n not in ours)]
    return [ColumnVerdicts(name, ours.get(name), theirs.get(name)) for name in names]


def evidently_count_consistent(obvious: dict[str, Any]) -> bool:
    """The per-column verdicts read from evidently add up to its own `DriftedColumnsCount`."""
    drift = obvious["drift"]
    return drift["evidently_drifted_count"] == drift["drifted_count"]


def fairness_pairs(gate: dict[str, Any], obvious: dict[str, Any]) -> list[NumberPair]:
    pairs: list[NumberPair] = []
    theirs_by_feature = obvious["fairness"]["features"]
    for feature, ours in gate["fairness"]["features"].items():
        theirs = theirs_by_feature.get(feature, {})
        for key in ("demographic_parity_difference", "equalized_odds_difference", "disparate_impact_ratio"):
            pairs.append(NumberPair(f"{feature}: {key}", ours[key], theirs.get(key)))
        groups = sorted({*ours["groups"], *theirs.get("groups", {})})
        for group in groups:
            mine, other = ours["groups"].get(group, {}), theirs.get("groups", {}).get(group, {})
            for key in ("count", "selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"):
                pairs.append(NumberPair(f"{feature}={group}: {key}", mine.get(key), other.get(key)))
    return pairs


def evaluation_pairs(gate: dict[str, Any], obvious: dict[str, Any]) -> list[NumberPair]:
    """Point estimates on the whole holdout: exact on both sides, so they must match."""
    pairs: list[NumberPair] = []
    for metric, ours in gate["evaluation"]["metrics"].items():
        theirs = obvious["evaluation"]["metrics"].get(metric, {})
        for model in ("challenger", "champion"):
            pairs.append(NumberPair(f"{metric} {model}", ours[model], theirs.get(model)))
    return pairs


def total_seconds(side: dict[str, Any], key: str = "scaled_s") -> float:
    return sum(t[key] for t in side["timings"])


@dataclass(frozen=True)
class IntervalPair:
    """One metric's (challenger - champion) interval from the gate (DeLong where it applies) and
    from the paired row bootstrap, each with the regression rule's verdict on it."""

    metric: str
    gate_method: str
    gate: list[float]
    bootstrap: list[float]
    max_regression: float | None

    def rule_passes(self, interval: list[float]) -> bool | None:
        if self.max_regression is None:
            return None  # the policy sets no regression limit for this metric
        return interval[0] is not None and interval[0] >= -self.max_regression

    @property
    def same_verdict(self) -> bool:
        return self.rule_passes(self.gate) == self.rule_passes(self.bootstrap)


def interval_pairs(gate: dict[str, Any]) -> list[IntervalPair]:
    methods = gate["evaluation_methods"]
    ours, reference = methods["delong"]["metrics"], methods["bootstrap"]["metrics"]
    return [
        IntervalPair(
            metric,
            row["interval_method"],
            row["delta_ci"],
            reference[metric]["delta_ci"],
            row["max_regression"],
        )
        for metric, row in ours.items()
    ]
