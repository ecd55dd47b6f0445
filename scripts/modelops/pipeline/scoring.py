"""Scoring a loaded model and timing it: the measured inputs of the evaluation and latency gates."""

from __future__ import annotations

import gc
import time
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


def single_row_latencies_ms(model: Classifier, features: pd.DataFrame, requests: int) -> list[float]:
    """Compute time of `requests` one-row predictions, cycling through the rows.

    Measured as the predicting thread's CPU time: wall time would also count other
    threads holding the GIL (a progress bar, MLflow's logging) and other jobs on a
    shared CI runner, which are not the model's cost and would make the SLA flaky.
    """
    rows = [features.iloc[[i % len(features)]] for i in range(requests)]
    model.predict_proba(rows[0])  # warm-up: first-call costs are not the steady state
    latencies = []
    # As timeit does: the collector would charge pauses for this process's own garbage
    # (report objects, data frames) to the model.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for row in rows:
            started = time.thread_time()
            model.predict_proba(row)
            latencies.append((time.thread_time() - started) * 1000)
    finally:
        if collecting:
            gc.enable()
    return latencies
