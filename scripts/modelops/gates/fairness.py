"""Fairness gate: demographic parity, equalized odds and the four-fifths rule per sensitive feature.

The definitions are fairlearn's (`demographic_parity_difference`,
`equalized_odds_difference`, `demographic_parity_ratio`, per-group `MetricFrame`),
computed here from one per-group confusion matrix (`np.bincount`), which gives the
same numbers three orders of magnitude faster; tests hold the two equal.

Too little evidence is a failure, never a silent 0.0: fewer than two groups, a group
below the minimum size, or a group missing a class (its error rates are undefined).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from modelops.config.environment import FairnessPolicy
from modelops.gates.result import GateResult, fmt

MISSING_GROUP = "(missing)"


def _group_codes(values: np.ndarray | pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    names = [str(u) for u in uniques]
    if (codes < 0).any():  # a missing sensitive value is its own group, never dropped
        codes = np.where(codes < 0, len(names), codes)
        names.append(MISSING_GROUP)
    return codes, names


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def group_confusion(
    y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray | pd.Series
) -> tuple[list[str], np.ndarray]:
    """Counts of shape (groups, 2, 2) indexed [group, true label, predicted label]."""
    codes, names = _group_codes(groups)
    keys = codes.astype(np.int64) * 4 + y_true * 2 + y_pred
    return names, np.bincount(keys, minlength=len(names) * 4).reshape(len(names), 2, 2)


def fairness_for_feature(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    feature: str,
    groups: np.ndarray | pd.Series,
    policy: FairnessPolicy,
) -> tuple[dict[str, object], list[str]]:
    names, counts = group_confusion(y_true, y_pred, groups)
    size = counts.sum(axis=(1, 2))
    negatives, positives = counts[:, 0, :].sum(axis=1), counts[:, 1, :].sum(axis=1)
    selected = counts[:, :, 1].sum(axis=1)
    selection_rate = _ratio(selected, size)
    tpr = _ratio(counts[:, 1, 1], positives)
    fpr = _ratio(counts[:, 0, 1], negatives)
    accuracy = _ratio(counts[:, 0, 0] + counts[:, 1, 1], size)

    reasons: list[str] = []
    if len(names) < 2:
        reasons.append(
            f"{feature}: only one group ({names[0] if names else 'none'}); fairness cannot be judged"
        )
    for index, name in enumerate(names):
        if size[index] < policy.min_group_size:
            reasons.append(
                f"{feature}={name}: {size[index]} rows, below the minimum group size {policy.min_group_size}"
            )
        if positives[index] == 0 or negatives[index] == 0:
            missing = "positive" if positives[index] == 0 else "negative"
            reasons.append(f"{feature}={name}: no {missing} labels, so its error rates are undefined")

    evidence_ok = not reasons
    dp_difference = (
        float(np.nanmax(selection_rate) - np.nanmin(selection_rate)) if len(names) else float("nan")
    )
    top_rate = np.nanmax(selection_rate) if len(names) else float("nan")
    di_ratio = float(np.nanmin(selection_rate) / top_rate) if top_rate > 0 else float("nan")
    eo_difference = (
        float(max(np.max(tpr) - np.min(tpr), np.max(fpr) - np.min(fpr))) if evidence_ok else float("nan")
    )
    if evidence_ok:
        if dp_difference > policy.max_demographic_parity_difference:
            reasons.append(
                f"{feature}: demographic parity difference {fmt(dp_difference)} exceeds "
                f"{fmt(policy.max_demographic_parity_difference)}"
            )
        if eo_difference > policy.max_equalized_odds_difference:
            reasons.append(
                f"{feature}: equalized odds difference {fmt(eo_difference)} exceeds "
                f"{fmt(policy.max_equalized_odds_difference)}"
            )
        if not di_ratio >= policy.min_disparate_impact_ratio:
            reasons.append(
                f"{feature}: disparate impact ratio {fmt(di_ratio)} is below "
                f"{fmt(policy.min_disparate_impact_ratio)} (four-fifths rule)"
            )
    measured = {
        "feature": feature,
        "demographic_parity_difference": dp_difference,
        "equalized_odds_difference": eo_difference,
        "disparate_impact_ratio": di_ratio,
        "groups": [
            {
                "group": name,
                "count": int(size[i]),
                "positives": int(positives[i]),
                "selection_rate": float(selection_rate[i]),
                "true_positive_rate": float(tpr[i]),
                "false_positive_rate": float(fpr[i]),
                "accuracy": float(accuracy[i]),
            }
            for i, name in enumerate(names)
        ],
    }
    return measured, reasons


def check_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: Mapping[str, np.ndarray | pd.Series],
    *,
    policy: FairnessPolicy,
) -> GateResult:
    """Judge binary predictions (1 = the favourable, positive class) for each sensitive feature."""
    y = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    if y.size == 0:
        return GateResult("fairness", False, ("the data has no rows",))
    if not sensitive:
        return GateResult("fairness", False, ("no sensitive feature given",))
    features: list[dict[str, object]] = []
    reasons: list[str] = []
    for feature, groups in sensitive.items():
        measured, feature_reasons = fairness_for_feature(
            y, pred, feature=feature, groups=groups, policy=policy
        )
        features.append(measured)
        reasons.extend(feature_reasons)
    return GateResult(
        "fairness",
        not reasons,
        tuple(reasons),
        {"rows": int(y.size), "policy": policy.model_dump(), "features": features},
    )


def band(values: pd.Series, bins: list[float], labels: list[str]) -> pd.Series:
    """Numeric sensitive values (such as age) into named, right-open bands."""
    return pd.cut(values, bins=bins, labels=labels, right=False).astype(object)
