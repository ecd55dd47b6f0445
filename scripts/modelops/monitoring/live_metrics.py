"""Live metrics of a release from the window's labelled rows, counted per score level so that they
add up batch by batch; the metrics themselves are the gate's (`modelops.gates.metrics`)."""

from __future__ import annotations

import numpy as np

from modelops.gates.metrics import metrics_from_level_counts

# Score levels of width 1/1000: pairs within one level count as ties, which moves the ROC AUC by at
# most the share of such pairs. The decision threshold is an edge, so the confusion matrix is exact.
LEVELS = 1000


class LabelTally:
    def __init__(self, *, threshold: float) -> None:
        self.edges = np.unique(np.append(np.linspace(0.0, 1.0, LEVELS + 1), threshold))
        self.predicted_positive = self.edges[:-1] >= threshold
        self.positives = np.zeros(self.edges.size - 1, dtype=np.int64)
        self.negatives = np.zeros(self.edges.size - 1, dtype=np.int64)

    def add(self, scores: np.ndarray, positive: np.ndarray) -> None:
        """Scores in [0, 1] and whether each row's label is the positive class."""
        level = np.clip(np.searchsorted(self.edges, scores, side="right") - 1, 0, self.positives.size - 1)
        self.positives += np.bincount(level[positive], minlength=self.positives.size)
        self.negatives += np.bincount(level[~positive], minlength=self.negatives.size)

    def merge(self, other: LabelTally) -> None:
        self.positives += other.positives
        self.negatives += other.negatives

    @property
    def rows(self) -> int:
        return int(self.positives.sum() + self.negatives.sum())

    def metrics(self, names: tuple[str, ...]) -> dict[str, float]:
        """Each metric, NaN where it is undefined (ROC AUC with one class only)."""
        values = metrics_from_level_counts(
            self.positives[None, :],
            self.negatives[None, :],
            predicted_positive=self.predicted_positive,
            names=names,
        )[0]
        return dict(zip(names, (float(v) for v in values), strict=True))
