"""Leakage gate: no row of the evaluation set may be a row a judged model was trained on.

A model scored on rows it was fitted on looks better than it is, and a comparison with it says
nothing; a version that logged no training data cannot be cleared, so it fails too. Rows are
compared by a hash of their feature and label columns, after putting every value in one form:
the frames come from parquet and CSV, where the same 2 is an integer in one file and a float in
the other. The set itself must not repeat rows beyond what the policy allows: a copied row
weighs twice in every metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelops.gates.result import GateResult

# Kinds `pd.api.types.infer_dtype` gives an object column whose values are all numbers (or missing).
_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}


@dataclass(frozen=True)
class TrainingData:
    """What one judged model was fitted on, as its registration logged it."""

    name: str  # how a reason names the model: "v4", "champion v1", "the candidate"
    version: str
    frame: pd.DataFrame | None  # None: the version logged no training data
    # Its feature columns and the label: what makes two rows the same row for this model.
    # None: every column of the evaluation set.
    columns: Sequence[str] | None = None


def _number_hashes(values: np.ndarray) -> np.ndarray:
    numbers = np.asarray(values, dtype="float64") + 0.0  # + 0.0 folds -0.0 into 0.0
    numbers[np.isnan(numbers)] = np.nan  # one NaN: payloads differ between writers
    return pd.util.hash_array(numbers)


def _text_hashes(values: np.ndarray, *, all_text: bool = False) -> np.ndarray:
    texts = values if all_text else np.asarray([str(v) for v in values], dtype=object)
    return pd.util.hash_array(texts)


def _column_hashes(values: pd.Series) -> np.ndarray:
    """One uint64 per value: equal for 2, 2.0 and True == 1 alike, whatever the column's dtype."""
    if pd.api.types.is_bool_dtype(values) or (
        pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_complex_dtype(values)
    ):
        return _number_hashes(values.astype("float64").to_numpy())
    objects = values.astype(object).to_numpy()
    missing = pd.isna(objects)
    kind = pd.api.types.infer_dtype(objects, skipna=True)
    if kind in _NUMERIC_KINDS:
        return _number_hashes(np.where(missing, np.nan, objects).astype("float64"))
    # Text (or a mix): numbers inside it still hash as numbers, missing values as the one NaN.
    all_text = kind == "string"
    is_number = (
        np.zeros(len(objects), dtype=bool)
        if all_text
        else np.fromiter(
            (isinstance(v, int | float | np.number) for v in objects), dtype=bool, count=len(objects)
        )
    )
    hashes = np.empty(len(objects), dtype="uint64")
    numeric = is_number | missing
    if numeric.any():
        hashes[numeric] = _number_hashes(
            np.where(missing[numeric], np.nan, objects[numeric]).astype("float64")
        )
    if (~numeric).any():
        hashes[~numeric] = _text_hashes(objects[~numeric], all_text=all_text)
    return hashes


def row_hashes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One uint64 per row over `columns`, in that order; equal rows have equal hashes."""
    per_column = pd.DataFrame({str(i): _column_hashes(frame[c]) for i, c in enumerate(columns)})
    return pd.util.hash_pandas_object(per_column, index=False).to_numpy()


def overlapping_rows(evaluation: pd.DataFrame, training: pd.DataFrame, columns: Sequence[str]) -> int:
    """How many evaluation rows equal some training row on `columns`."""
    return int(np.isin(row_hashes(evaluation, columns), row_hashes(training, columns)).sum())


def duplicated_rows(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row on every column."""
    hashes = row_hashes(frame, list(frame.columns))
    return len(hashes) - len(np.unique(hashes))


def rows_outside(data: pd.DataFrame, evaluation: pd.DataFrame) -> pd.DataFrame:
    """The rows of `data` equal to no evaluation row (on the evaluation set's columns)."""
    columns = list(evaluation.columns)
    kept = ~np.isin(row_hashes(data, columns), row_hashes(evaluation, columns))
    return data.loc[kept].reset_index(drop=True)


def _one_model(model: TrainingData, evaluation: pd.DataFrame) -> tuple[dict[str, object], str | None]:
    facts: dict[str, object] = {"name": model.name, "version": model.version}
    if model.frame is None:
        return {**facts, "training_rows": None, "overlapping_rows": None}, (
            f"{model.name} logged no training data: leakage cannot be ruled out"
        )
    # Columns the evaluation set lacks cannot make a row equal; scoring needs them and says so.
    columns = [c for c in (model.columns or evaluation.columns) if c in evaluation.columns]
    facts["training_rows"] = len(model.frame)
    if missing := [c for c in columns if c not in model.frame.columns]:
        return {**facts, "overlapping_rows": None}, (
            f"{model.name}'s training data has no column(s) {', '.join(missing)}: leakage cannot be ruled out"
        )
    count = overlapping_rows(evaluation, model.frame, columns)
    facts["overlapping_rows"] = count
    if count:
        return facts, f"{count} of {len(evaluation)} evaluation rows appear in {model.name}'s training data"
    return facts, None


def check_leakage(
    evaluation: pd.DataFrame, trained_on: Sequence[TrainingData], *, max_duplicated_rows: int
) -> GateResult:
    """Pass when the evaluation set repeats at most `max_duplicated_rows` rows and shares none with
    the training data of any model in `trained_on` (the candidate and the champion).
    """
    reasons: list[str] = []
    duplicated = duplicated_rows(evaluation)
    if duplicated > max_duplicated_rows:
        reasons.append(f"the evaluation set has {duplicated} duplicated rows (allowed {max_duplicated_rows})")
    versions = []
    for model in trained_on:
        facts, reason = _one_model(model, evaluation)
        versions.append(facts)
        if reason:
            reasons.append(reason)
    return GateResult(
        "leakage",
        not reasons,
        tuple(reasons),
        {
            "evaluation_rows": len(evaluation),
            "duplicated_rows": duplicated,
            "max_duplicated_rows": max_duplicated_rows,
            "versions": versions,
        },
    )
