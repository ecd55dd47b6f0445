"""Scoring a loaded model: the measured input of the evaluation and fairness gates."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from modelops.errors import InputError


class Classifier(Protocol):
    """What scoring needs of a loaded model: scikit-learn's `predict_proba` (`classes_` is checked)."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...


def positive_scores(
    model: Classifier, features: pd.DataFrame, *, positive_class: object, what: str
) -> np.ndarray:
    """Probability of the positive class for every row."""
    classes = [str(c) for c in getattr(model, "classes_", [])]
    if str(positive_class) not in classes:
        raise InputError(
            f"{what}: positive class {positive_class!r} is not among the model's classes {classes}"
        )
    try:
        probabilities = model.predict_proba(features)
    except Exception as error:  # the model rejected the data: a schema problem, not a bug here
        raise InputError(
            f"{what}: prediction failed on the evaluation data ({type(error).__name__}: {error})"
        ) from None
    return np.asarray(probabilities[:, classes.index(str(positive_class))], dtype=float)
