"""The leakage gate: evaluation rows in a model's training data, and rows the set repeats."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from modelops.gates import check_leakage
from modelops.gates.leakage import TrainingData, duplicated_rows, overlapping_rows, row_hashes, rows_outside


@pytest.fixture()
def evaluation() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "risk": [1, 0, 1, 0, 1],
            "sex": ["male", "female", "female", "male", "male"],
            "age": [22.0, 35.0, 41.0, 67.0, 29.0],
            "job": [2, 1, 3, 2, 0],
        }
    )


def _training(evaluation: pd.DataFrame, shared: int) -> pd.DataFrame:
    other = evaluation.assign(age=evaluation["age"] + 100)  # same people, other ages: no row in common
    return pd.concat([other, evaluation.head(shared)], ignore_index=True)


def _version(frame: pd.DataFrame | None, name: str = "v4") -> TrainingData:
    return TrainingData(name, name.removeprefix("v"), frame, ["sex", "age", "job", "risk"])


def test_no_shared_row_passes_and_one_shared_row_fails(evaluation):
    clean = check_leakage(evaluation, [_version(_training(evaluation, 0))], max_duplicated_rows=0)
    assert clean.passed and clean.reasons == ()
    assert clean.measured["versions"] == [
        {"name": "v4", "version": "4", "training_rows": 5, "overlapping_rows": 0}
    ]
    leaked = check_leakage(evaluation, [_version(_training(evaluation, 1))], max_duplicated_rows=0)
    assert not leaked.passed
    assert leaked.reasons == ("1 of 5 evaluation rows appear in v4's training data",)


def test_the_champion_is_checked_too_and_named(evaluation):
    result = check_leakage(
        evaluation,
        [_version(_training(evaluation, 0)), _version(_training(evaluation, 5), "champion v1")],
        max_duplicated_rows=0,
    )
    assert not result.passed
    assert result.reasons == ("5 of 5 evaluation rows appear in champion v1's training data",)


def test_a_version_without_training_data_cannot_be_cleared(evaluation):
    result = check_leakage(evaluation, [_version(None)], max_duplicated_rows=0)
    assert not result.passed
    assert result.reasons == ("v4 logged no training data: leakage cannot be ruled out",)
    assert result.measured["versions"][0]["overlapping_rows"] is None


def test_training_data_without_a_compared_column_cannot_be_cleared(evaluation):
    result = check_leakage(evaluation, [_version(evaluation.drop(columns=["job"]))], max_duplicated_rows=0)
    assert result.reasons == ("v4's training data has no column(s) job: leakage cannot be ruled out",)


def test_duplicated_rows_on_both_sides_of_the_allowance(evaluation):
    padded = pd.concat([evaluation, evaluation.head(2)], ignore_index=True)
    assert duplicated_rows(padded) == 2
    assert check_leakage(padded, [], max_duplicated_rows=2).passed
    refused = check_leakage(padded, [], max_duplicated_rows=1)
    assert refused.reasons == ("the evaluation set has 2 duplicated rows (allowed 1)",)
    assert refused.measured["duplicated_rows"] == 2


def test_values_are_compared_after_their_dtypes_are_normalised(evaluation):
    """The same rows, as parquet and CSV would hand them over: ints as floats, text as categories."""
    as_csv = pd.read_csv(io.StringIO(evaluation.to_csv(index=False)))
    retyped = evaluation.astype({"job": "float64", "risk": "float64", "sex": "category"})
    nullable = evaluation.astype({"job": "Int64", "age": "Float64", "sex": "string"})
    columns = list(evaluation.columns)
    for frame in (as_csv, retyped, nullable, evaluation[columns[::-1]]):
        assert list(row_hashes(frame, columns)) == list(row_hashes(evaluation, columns))
        assert overlapping_rows(evaluation, frame, columns) == 5


def test_missing_values_match_each_other_and_nothing_else():
    left = pd.DataFrame({"x": [np.nan, 0.0, 1.0], "s": [None, "a", "b"]})
    right = pd.DataFrame({"x": [float("nan"), -0.0, 2.0], "s": [np.nan, "a", "b"]})
    assert list(row_hashes(left, ["x", "s"]) == row_hashes(right, ["x", "s"])) == [True, True, False]


def test_text_is_not_a_number_and_columns_do_not_blur():
    numbers = pd.DataFrame({"a": [2.0], "b": ["x"]})
    assert overlapping_rows(numbers, pd.DataFrame({"a": ["2"], "b": ["x"]}), ["a", "b"]) == 0
    assert overlapping_rows(numbers, pd.DataFrame({"a": [2.0], "b": ["y"]}), ["a", "b"]) == 0
    swapped = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    assert overlapping_rows(swapped.head(1), swapped.tail(1), ["a", "b"]) == 0


def test_rows_outside_keeps_every_other_row_in_order(evaluation):
    data = _training(evaluation, 2)
    outside = rows_outside(data, evaluation)
    assert len(outside) == 5 and overlapping_rows(evaluation, outside, list(evaluation.columns)) == 0
    pd.testing.assert_frame_equal(outside, data.head(5))
