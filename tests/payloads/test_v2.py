import math

import pytest

from modelops.payloads.v2 import TensorError, request_columns, response_columns

LIMITS = {"max_rows": 100, "max_columns": 10}


def _input(name, data, *, shape=None, datatype="INT64"):
    return {"name": name, "shape": shape or [len(data), 1], "datatype": datatype, "data": data}


def test_one_named_input_per_column_becomes_one_column_each_as_the_pandas_codec_sends_them():
    body = {
        "inputs": [
            _input("age", [31, 40]),
            _input("job", ["skilled", "unskilled"], datatype="BYTES"),
            _input("amount", [1200, 3.5], shape=[2], datatype="FP32"),
            _input("foreign", [True, False], datatype="BOOL"),
        ]
    }
    columns = request_columns(body, **LIMITS)
    assert columns.rows == 2
    assert columns.values == {
        "age": [31, 40],
        "job": ["skilled", "unskilled"],
        "amount": [1200, 3.5],
        "foreign": [True, False],
    }
    assert columns.types == {"age": "int64", "job": "string", "amount": "float64", "foreign": "bool"}


def test_a_two_dimensional_input_gives_one_column_per_position_flat_or_row_nested():
    flat = {"inputs": [_input("x", [1, 2, 3, 4, 5, 6], shape=[2, 3])]}
    nested = {"inputs": [_input("x", [[1, 2, 3], [4, 5, 6]], shape=[2, 3])]}
    for body in (flat, nested):
        assert request_columns(body, **LIMITS).values == {"x.0": [1, 4], "x.1": [2, 5], "x.2": [3, 6]}


def test_outputs_become_output_columns_and_class_probabilities_one_column_per_class():
    body = {
        "outputs": [
            _input("predict", [1, 0]),
            _input("predict_proba", [0.2, 0.8, 0.9, 0.1], shape=[2, 2], datatype="FP64"),
        ]
    }
    columns = response_columns(body, **LIMITS)
    assert columns.values == {
        "_output.predict": [1, 0],
        "_output.predict_proba.0": [0.2, 0.9],
        "_output.predict_proba.1": [0.8, 0.1],
    }


def test_nan_is_a_value_a_model_may_be_sent_and_is_kept():
    columns = request_columns({"inputs": [_input("x", [math.nan], datatype="FP64")]}, **LIMITS)
    assert math.isnan(columns.values["x"][0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": []}, "'inputs' is not a non-empty list"),
        ({"inputs": "age"}, "'inputs' is not a non-empty list"),
        ({"inputs": [_input("_row", [1])]}, "starts with '_'"),
        ({"inputs": [_input("x", [1], shape=[2, 2])]}, "needs 4"),
        ({"inputs": [_input("x", [1, 2]), _input("y", [1])]}, "has 1 rows where the first tensor has 2"),
        ({"inputs": [_input("x", [1]), _input("x", [2])]}, "gives column 'x' twice"),
        ({"inputs": [_input("x.0", [1]), _input("x", [1, 2], shape=[1, 2])]}, "twice"),
        ({"inputs": [_input("x", ["1"])]}, "not a INT64"),
        ({"inputs": [_input("x", [True])]}, "not a INT64"),
        ({"inputs": [_input("x", [2**31], datatype="INT32")]}, "not a INT32"),
        ({"inputs": [_input("x", [-1], datatype="UINT8")]}, "not a UINT8"),
        ({"inputs": [_input("x", [None], datatype="FP64")]}, "not a number"),
        ({"inputs": [_input("x", [1], datatype="BOOL")]}, "not a boolean"),
        ({"inputs": [_input("x", [1], datatype="BYTES")]}, "not a string"),
        ({"inputs": [_input("x", [1], datatype="COMPLEX")]}, "not a V2 datatype"),
        ({"inputs": [_input("x", [1], shape=[1, 1, 1])]}, "not [rows] or [rows, columns]"),
        ({"inputs": [_input("x", [1], shape=[-1])]}, "not [rows] or [rows, columns]"),
        ({"inputs": [_input("bad\nname", [1])]}, "printable name"),
        ({"inputs": [_input("x", [[1, [2]]], shape=[1, 2])]}, "nests rows"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": 1}]}, "data is not a list"),
        # Arrow refuses these at flush: taken on arrival, one would cost the whole batch its rows.
        ({"inputs": [_input("x", [2**64 - 1], datatype="FP64")]}, "not a number"),
        ({"inputs": [_input("x", ["\ud800"], datatype="BYTES")]}, "not valid Unicode"),
    ],
)
def test_a_body_that_is_not_v2_tensors_is_refused_with_what_is_wrong(body, message):
    with pytest.raises(TensorError, match=message.replace("[", r"\[").replace("]", r"\]")):
        request_columns(body, **LIMITS)


def test_rows_and_columns_per_event_are_bounded_on_both_sides_of_the_limit():
    request_columns({"inputs": [_input("x", list(range(100)))]}, **LIMITS)
    with pytest.raises(TensorError, match="101 rows, over the limit of 100"):
        request_columns({"inputs": [_input("x", list(range(101)))]}, **LIMITS)
    request_columns({"inputs": [_input("x", list(range(10)), shape=[1, 10])]}, **LIMITS)
    with pytest.raises(TensorError, match="more than 10 columns"):
        request_columns({"inputs": [_input("x", list(range(11)), shape=[1, 11])]}, **LIMITS)


def test_the_row_count_is_checked_before_a_huge_shape_is_multiplied_out():
    with pytest.raises(TensorError, match="over the limit"):
        request_columns({"inputs": [_input("x", [1], shape=[10**12, 10**12])]}, **LIMITS)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        # Values of one datatype are checked together across tensors; the refusal still names the one.
        (
            [_input("a", [1.5], datatype="FP64"), _input("b", ["x"], datatype="FP64")],
            r"inputs\[1\].data .* number",
        ),
        (
            [_input("a", [1]), _input("s", ["ok"], datatype="BYTES"), _input("b", [2**63])],
            r"inputs\[2\].data .* INT64",
        ),
        ([_input("a", [[1, 2]], shape=[1, 2]), _input("b", [[3, "4"]], shape=[1, 2])], r"inputs\[1\].data"),
        (
            [_input("s", ["ok"], datatype="BYTES"), _input("t", ["\ud800"], datatype="BYTES")],
            r"inputs\[1\].*Unicode",
        ),
    ],
)
def test_the_tensor_holding_a_value_that_does_not_fit_its_datatype_is_the_one_named(inputs, message):
    with pytest.raises(TensorError, match=message):
        request_columns({"inputs": inputs}, **LIMITS)


def test_values_checked_together_are_kept_apart_in_their_columns():
    body = {"inputs": [_input("a", [1.5, 2.5], datatype="FP64"), _input("b", [3, 4], datatype="FP64")]}
    assert request_columns(body, **LIMITS).values == {"a": [1.5, 2.5], "b": [3, 4]}
