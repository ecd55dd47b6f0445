"""Which logged output is the release's prediction, and its value as a positive-class score.

The layout names a model's outputs `_output.<name>` (one value per row) and `_output.<name>.<j>`
(column j of several; `.1` is the positive class's probability). A predicted label counts as the
score 1.0 for the positive class and 0.0 for the other, as `modelops check` reads predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelops.errors import InputError
from modelops.payloads.layout import OUTPUT_PREFIX


@dataclass(frozen=True)
class ServedPrediction:
    column: str
    is_label: bool  # a predicted class, not a probability


def served_prediction(schema: pa.Schema, *, where: str) -> ServedPrediction:
    outputs = [name for name in schema.names if name.startswith(OUTPUT_PREFIX)]
    positive = [name for name in outputs if name.endswith(".1")]
    if len(positive) == 1:
        return ServedPrediction(positive[0], is_label=False)
    single = [name for name in outputs if "." not in name.removeprefix(OUTPUT_PREFIX)]
    if len(positive) > 1 or len(single) != 1:
        found = ", ".join(outputs) or "none"
        raise InputError(
            f"{where}: cannot tell the prediction among the outputs ({found}): expected one "
            f"{OUTPUT_PREFIX}<name>.1 (the positive class's probability) or one {OUTPUT_PREFIX}<name>"
        )
    field = schema.field(single[0])
    return ServedPrediction(single[0], is_label=not pa.types.is_floating(field.type))


def served_scores(
    values: pa.Array | pa.ChunkedArray, prediction: ServedPrediction, *, positive_class: object, where: str
) -> np.ndarray:
    """Positive-class scores in [0, 1] (NaN where the output is missing)."""
    if prediction.is_label:
        text = pc.cast(values, pa.string()).to_numpy(zero_copy_only=False)
        scores = (text == str(positive_class)).astype(float)
        scores[pc.is_null(values).to_numpy(zero_copy_only=False)] = np.nan
        return scores
    scores = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    outside = scores[(scores < 0) | (scores > 1)]
    if outside.size:
        raise InputError(
            f"{where}: column {prediction.column} holds {outside.size} value(s) outside [0, 1] "
            f"(first {outside[0]:g}): not a probability"
        )
    return scores
