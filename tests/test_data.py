"""modelops.data: what a data file must be before any gate reads it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelops.data import binary_labels, prediction_scores, read_frame, read_header
from modelops.errors import InputError


def _csv_with_duplicates(path):
    path.write_text("risk,score,risk,score,age\n1,0.5,0,0.4,30\n")


def _parquet_with_duplicates(path):
    pq.write_table(pa.table([pa.array([1, 0]), pa.array([0.2, 0.8])], names=["risk", "risk"]), path)


@pytest.mark.parametrize(
    ("name", "write", "duplicated"),
    [
        ("scored.csv", _csv_with_duplicates, "'risk', 'score'"),
        ("scored.parquet", _parquet_with_duplicates, "'risk'"),
    ],
)
def test_a_duplicated_column_is_refused_not_renamed(tmp_path, name, write, duplicated):
    path = tmp_path / name
    write(path)
    with pytest.raises(InputError) as error:
        read_frame(path)
    assert str(error.value) == f"{path}: duplicated column name(s) {duplicated}"


def test_a_quoted_header_is_read_as_pandas_reads_it(tmp_path):
    path = tmp_path / "scored.csv"
    path.write_text('"risk, label",risk,NA,,\n1,0,2,3,4\n')
    assert list(read_frame(path).columns) == ["risk, label", "risk", "NA", "Unnamed: 3", "Unnamed: 4"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_with_only_a_header_has_no_rows(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    frame = pd.DataFrame({"risk": pd.Series([], dtype="int64"), "score": pd.Series([], dtype=float)})
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    with pytest.raises(InputError) as error:
        read_frame(path)
    assert str(error.value) == f"{path}: the data has no rows"


def test_an_empty_csv_is_unreadable(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: unreadable \(EmptyDataError"):
        read_frame(path)


def _mixed(tmp_path, suffix: str):
    path = tmp_path / f"mixed{suffix}"
    frame = pd.DataFrame(
        {
            "amount": [1.5, np.nan, 3.0, np.inf],
            "purpose": ["car", None, "tv", "car"],
            "flag": [True, False, True, True],
            "term": [12, 24, 36, 48],
        }
    )
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    return path, frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_only_the_named_columns_the_file_has_are_read(tmp_path, suffix):
    path, _ = _mixed(tmp_path, suffix)
    assert list(read_frame(path, columns=["term", "absent", "amount"]).columns) == ["amount", "term"]
    # None of them: the whole file, so that the frame keeps its rows.
    assert list(read_frame(path, columns=["absent"]).columns) == ["amount", "purpose", "flag", "term"]
    assert read_header(path) == ["amount", "purpose", "flag", "term"]


def test_text_read_as_categories_holds_the_same_values(tmp_path):
    path, frame = _mixed(tmp_path, ".parquet")
    read = read_frame(path, text_as_categories=True)
    assert isinstance(read["purpose"].dtype, pd.CategoricalDtype)
    assert read["purpose"].astype(object).tolist() == ["car", np.nan, "tv", "car"]
    pd.testing.assert_frame_equal(read.drop(columns="purpose"), frame.drop(columns="purpose"))


def test_a_header_is_read_with_the_same_checks_as_the_data(tmp_path):
    with pytest.raises(InputError, match=r"missing\.parquet: file not found"):
        read_header(tmp_path / "missing.parquet")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: unreadable \(ArrowInvalid"):
        read_header(broken)


def _labels(values, **options):
    settings = {"classes": (0, 1), "positive_class": 1, "where": "data.csv"} | options
    return binary_labels(pd.Series(values, name="risk"), **settings)


def test_labels_of_the_two_classes_map_the_positive_class_to_one():
    assert _labels([0, 1, 1, 0]).tolist() == [0, 1, 1, 0]
    assert _labels([0.0, 1.0]).tolist() == [0, 1]
    assert _labels([0, 1, 1], positive_class=0).tolist() == [1, 0, 0]
    assert _labels(["bad", "good"], classes=("bad", "good"), positive_class="good").tolist() == [0, 1]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["good", "bad", "good"], "column 'risk' holds values outside the classes [0, 1]: 'good', 'bad'"),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 1], "outside the classes [0, 1]: 2, 3, 4, 5, 6 (and 2 more)"),
        ([True, False], "column 'risk' holds booleans, not the classes [0, 1]"),
        ([0, 0, 0], "positive class 1 does not occur in column 'risk'"),
        ([0, 1, None], "1 missing value(s) in column 'risk'"),
    ],
    ids=["text", "more classes, five shown", "booleans", "no positive label", "missing"],
)
def test_labels_outside_the_classes_are_unusable(values, message):
    with pytest.raises(InputError) as error:
        _labels(values)
    assert str(error.value).startswith("data.csv: ") and message in str(error.value)


def test_a_positive_class_that_is_no_class_is_unusable():
    with pytest.raises(InputError, match=r"positive class 2 is not one of the classes \[0, 1\]"):
        _labels([0, 1], positive_class=2)


def _scores(values):
    return prediction_scores(pd.Series(values, name="score"), where="data.csv")


def test_scores_and_predicted_labels_are_read_as_positive_class_scores():
    assert _scores([0.0, 0.25, 1.0]).tolist() == [0.0, 0.25, 1.0]
    assert _scores([0, 1, 1]).tolist() == [1.0 * v for v in (0, 1, 1)]
    assert _scores(pd.array([0, 1], dtype="Int64")).dtype == np.float64


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["yes", "no"], "column 'score' holds values that are not numbers: 'yes', 'no'"),
        ([0.2, "0.4", 0.9], "column 'score' holds values that are not numbers: '0.4'"),
        ([True, False], "column 'score' holds booleans, not scores in [0, 1] or predicted labels 0/1"),
        ([0.1, 1.5, -0.2], "column 'score' holds values outside [0, 1]: 1.5, -0.2"),
        ([0, 1, 2], "column 'score' holds values outside [0, 1]: 2"),
        ([0.5, np.inf, -np.inf], "column 'score' holds values outside [0, 1]: inf, -inf"),
        ([0.5, np.nan], "1 missing value(s) in column 'score'"),
    ],
    ids=["text", "text among numbers", "booleans", "scores out of range", "a third label", "infinite", "nan"],
)
def test_predictions_that_are_no_scores_are_unusable(values, message):
    with pytest.raises(InputError) as error:
        _scores(values)
    assert str(error.value).startswith("data.csv: ") and message in str(error.value)
