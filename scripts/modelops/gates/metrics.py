"""Binary classification metrics computed from counts, so a bootstrap resample costs one bincount.

Scores are compressed to their distinct values ("levels"). For one resample, the
number of positives and negatives at each level gives the ROC AUC (ties count one
half) and the confusion matrix at the decision threshold.

Levels are exact up to `MAX_LEVELS` distinct scores. Beyond that the scores fall into
`MAX_LEVELS` equal-width bins (never straddling the threshold, so the confusion
matrix stays exact); pairs inside one bin count as ties, which moves the AUC by at
most the share of such pairs, about 1e-4. This keeps a resample of 200k rows at one
gather and one bincount.

Metrics of the confusion matrix alone (accuracy, precision, recall, f1) need less: see
`confusion_resamples`, which draws a resample's cell counts directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONFUSION_METRICS = ("accuracy", "precision", "recall", "f1")


MAX_LEVELS = 10_000


@dataclass(frozen=True)
class ScoreLevels:
    """Scores of one model reduced to a level index per row, ascending by score."""

    level_of_row: np.ndarray  # int32, level of each row
    predicted_positive: np.ndarray  # bool per level: score >= threshold
    n_levels: int


def score_levels(scores: np.ndarray, threshold: float) -> ScoreLevels:
    values, level_of_row = np.unique(scores, return_inverse=True)
    if len(values) <= MAX_LEVELS:
        return ScoreLevels(level_of_row.astype(np.int32), values >= threshold, len(values))
    low, high = values[0], values[-1]
    bucket = np.minimum(np.floor((scores - low) / (high - low) * MAX_LEVELS), MAX_LEVELS - 1)
    key = bucket.astype(np.int64) * 2 + (scores >= threshold)
    keys, level_of_row = np.unique(key, return_inverse=True)
    return ScoreLevels(level_of_row.astype(np.int32), (keys % 2).astype(bool), len(keys))


def metrics_from_level_counts(
    positives: np.ndarray, negatives: np.ndarray, *, predicted_positive: np.ndarray, names: tuple[str, ...]
) -> np.ndarray:
    """Metrics for a batch of resamples.

    `positives`/`negatives` have shape (resamples, levels). Returns (resamples, len(names));
    undefined values (no positives, nothing predicted positive) are NaN.
    """
    total_pos = positives.sum(axis=1).astype(float)
    total_neg = negatives.sum(axis=1).astype(float)
    out = np.empty((positives.shape[0], len(names)))
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = positives[:, predicted_positive].sum(axis=1).astype(float)
        fp = negatives[:, predicted_positive].sum(axis=1).astype(float)
        fn = total_pos - tp
        tn = total_neg - fp
        for column, name in enumerate(names):
            if name == "roc_auc":
                negatives_below = np.cumsum(negatives, axis=1) - negatives
                wins = (positives * (negatives_below + 0.5 * negatives)).sum(axis=1)
                out[:, column] = wins / (total_pos * total_neg)
            elif name == "accuracy":
                out[:, column] = (tp + tn) / (total_pos + total_neg)
            elif name == "precision":
                out[:, column] = tp / (tp + fp)
            elif name == "recall":
                out[:, column] = tp / total_pos
            elif name == "f1":
                out[:, column] = 2 * tp / (2 * tp + fp + fn)
            else:
                raise ValueError(f"unknown metric {name}")
    return out


def level_counts(levels: ScoreLevels, y_true: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positives and negatives per level for each resample; `rows` has shape (resamples, n)."""
    n_resamples = rows.shape[0]
    width = 2 * levels.n_levels
    keys = (levels.level_of_row * 2 + y_true.astype(np.int32))[rows]
    keys += (np.arange(n_resamples, dtype=keys.dtype) * width)[:, None]
    counts = np.bincount(keys.ravel(), minlength=n_resamples * width).reshape(n_resamples, levels.n_levels, 2)
    return counts[:, :, 1], counts[:, :, 0]


def point_metrics(
    y_true: np.ndarray, scores: np.ndarray, *, threshold: float, names: tuple[str, ...]
) -> np.ndarray:
    """Exact metrics on the whole data (no binning: every distinct score is its own level)."""
    values, level_of_row = np.unique(scores, return_inverse=True)
    levels = ScoreLevels(level_of_row.astype(np.int32), values >= threshold, len(values))
    rows = np.arange(len(y_true))[None, :]
    positives, negatives = level_counts(levels, y_true, rows)
    return metrics_from_level_counts(
        positives, negatives, predicted_positive=levels.predicted_positive, names=names
    )[0]


def confusion_resamples(
    y_true: np.ndarray, predicted: list[np.ndarray], *, resamples: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Paired bootstrap of confusion matrices, drawn as cell counts instead of gathered rows.

    Each row falls in one cell of (label, each model's 0/1 prediction). Resampling n rows with
    replacement gives cell counts distributed Multinomial(n, observed cell shares), and confusion
    metrics depend on the rows only through those counts: drawing the counts is the same bootstrap,
    with every model still judged on the same resampled rows, at the cost of `resamples` small
    multinomial draws rather than `resamples` x n gathers.

    Returns, per model, positives and negatives per predicted class (columns: predicted 0, 1) with
    shape (resamples, 2), the shape `metrics_from_level_counts` takes.
    """
    n_cells = 2 ** (len(predicted) + 1)
    key = np.asarray(y_true, dtype=np.int64).copy()
    for index, prediction in enumerate(predicted):
        key += np.asarray(prediction, dtype=np.int64) << (index + 1)
    cells = np.bincount(key, minlength=n_cells)
    counts = rng.multinomial(len(key), cells / len(key), size=resamples)
    cell = np.arange(n_cells)
    label = cell & 1
    out = []
    for index in range(len(predicted)):
        said = (cell >> (index + 1)) & 1
        positives = np.stack([counts[:, (label == 1) & (said == p)].sum(axis=1) for p in (0, 1)], axis=1)
        negatives = np.stack([counts[:, (label == 0) & (said == p)].sum(axis=1) for p in (0, 1)], axis=1)
        out.append((positives, negatives))
    return out
