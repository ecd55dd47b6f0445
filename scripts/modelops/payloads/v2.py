"""Open Inference Protocol (V2) JSON tensors as table columns: a request's inputs, a response's outputs.

Pure functions over the decoded JSON. What MLServer's mlflow runtime accepts with the pandas codec is
one named input per column, of shape [n] or [n, 1]; an input of shape [n, k] becomes k columns
`<name>.<j>`. Outputs become `_output.<name>` (one value per row) or `_output.<name>.<j>`.
Every value is checked against its tensor's datatype here, so that building the Arrow columns when the
rows are written cannot fail on a value one event sent: a bad event is refused alone, never a batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.payloads.layout import OUTPUT_PREFIX, output_column

# The V2 integer datatypes and the range a value of each must fall in.
_INTEGER_RANGES = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
    "UINT8": (0, 2**8 - 1),
    "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1),
    "UINT64": (0, 2**64 - 1),
}
_FLOATS = {"FP16", "FP32", "FP64"}
DATATYPES = frozenset({*_INTEGER_RANGES, *_FLOATS, "BOOL", "BYTES"})
# The Arrow type each datatype is stored as. Widened, so that one column keeps one type whichever
# width a client chose (one INT32, another INT64) and no value can overflow its stored type.
STORED_TYPES = {
    **{datatype: "int64" for datatype in _INTEGER_RANGES if datatype != "UINT64"},
    "UINT64": "uint64",
    **{datatype: "float64" for datatype in _FLOATS},
    "BOOL": "bool",
    "BYTES": "string",
}
MAX_NAME_CHARS = 256
MAX_BYTES_VALUE_CHARS = 64 * 1024


class TensorError(ValueError):
    """A request or response body the sink cannot turn into rows; the message is one line."""


@dataclass(frozen=True)
class Columns:
    """Equal-length columns of one event, and the Arrow type (STORED_TYPES) each is stored as."""

    rows: int
    values: dict[str, list[Any]]
    types: dict[str, str]


def request_columns(body: Mapping[str, Any], *, max_rows: int, max_columns: int) -> Columns:
    """The rows of a V2 inference request: one column per input (or per column of a 2-D input)."""
    columns = _tensors(body, "inputs", max_rows=max_rows, max_columns=max_columns, prefix="")
    for name in columns.values:
        if name.startswith("_"):
            raise TensorError(f"input {name!r} starts with '_', which the payload columns reserve")
    return columns


def response_columns(body: Mapping[str, Any], *, max_rows: int, max_columns: int) -> Columns:
    """The rows of a V2 inference response, its outputs as `_output.` columns."""
    return _tensors(body, "outputs", max_rows=max_rows, max_columns=max_columns, prefix=OUTPUT_PREFIX)


def _tensors(body: Mapping[str, Any], field: str, *, max_rows: int, max_columns: int, prefix: str) -> Columns:
    tensors = body.get(field)
    if not isinstance(tensors, list) or not tensors:
        raise TensorError(f"'{field}' is not a non-empty list")
    rows: int | None = None
    values: dict[str, list[Any]] = {}
    types: dict[str, str] = {}
    for index, tensor in enumerate(tensors):
        where = f"{field}[{index}]"
        name, datatype, n, width, data = _tensor(tensor, where, max_rows=max_rows)
        if rows is None:
            rows = n
        elif n != rows:
            raise TensorError(f"{where} ({name!r}) has {n} rows where the first tensor has {rows}")
        if len(values) + width > max_columns:
            raise TensorError(f"{field} give more than {max_columns} columns")
        for j in range(width):
            column = _column_name(name, None if width == 1 else j, prefix=prefix)
            if column in values:
                raise TensorError(f"{where} gives column {column!r} twice")
            values[column] = data if width == 1 else data[j::width]
            types[column] = STORED_TYPES[datatype]
    assert rows is not None  # tensors is non-empty
    return Columns(rows, values, types)


def _column_name(name: str, index: int | None, *, prefix: str) -> str:
    if prefix:
        return output_column(name, index)
    return name if index is None else f"{name}.{index}"


def _tensor(tensor: Any, where: str, *, max_rows: int) -> tuple[str, str, int, int, list[Any]]:
    if not isinstance(tensor, dict):
        raise TensorError(f"{where} is not an object")
    name = tensor.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise TensorError(f"{where}.name is not a printable name of 1 to {MAX_NAME_CHARS} characters")
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise TensorError(f"{where}.datatype {datatype!r} is not a V2 datatype")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) not in (1, 2)
        or not all(type(d) is int and d >= 0 for d in shape)
    ):
        raise TensorError(f"{where}.shape is not [rows] or [rows, columns]")
    rows, width = shape[0], shape[1] if len(shape) == 2 else 1
    if rows > max_rows:
        raise TensorError(f"{where} has {rows} rows, over the limit of {max_rows} per event")
    if width == 0:
        raise TensorError(f"{where}.shape has no columns")
    data = _flat(tensor.get("data"), where, width=width)
    if len(data) != rows * width:
        raise TensorError(f"{where} has {len(data)} values where its shape {shape} needs {rows * width}")
    _check_values(data, datatype, where)
    return name, datatype, rows, width, data


def _flat(data: Any, where: str, *, width: int) -> list[Any]:
    """V2 JSON data is flat in row-major order; a row-nested list (as clients also send) is flattened."""
    if not isinstance(data, list):
        raise TensorError(f"{where}.data is not a list")
    if not data or not isinstance(data[0], list):
        return data
    flat: list[Any] = []
    for row in data:
        if not isinstance(row, list) or len(row) != width or any(isinstance(v, list) for v in row):
            raise TensorError(f"{where}.data nests rows that are not lists of {width} values")
        flat.extend(row)
    return flat


_EXACT = 2**53  # the largest integer a double holds exactly


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_values(data: list[Any], datatype: str, where: str) -> None:
    # map(type, ...) and set arithmetic: the sink checks every value of every event it takes.
    types = set(map(type, data))
    if datatype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[datatype]
        if not types <= {int} or (data and (min(data) < low or max(data) > high)):
            raise TensorError(f"{where}.data holds a value that is not a {datatype}")
    elif datatype in _FLOATS:
        # JSON writes 1.0 as 1; NaN and infinities are values a model may see, so they are kept. An
        # integer beyond a double's exact range is no FP value: Arrow would refuse the whole batch.
        if not types <= {int, float} or (
            int in types and any(type(v) is int and abs(v) > _EXACT for v in data)
        ):
            raise TensorError(f"{where}.data holds a value that is not a number")
    elif datatype == "BOOL":
        if not types <= {bool}:
            raise TensorError(f"{where}.data holds a value that is not a boolean")
    elif not types <= {str} or (data and max(map(len, data)) > MAX_BYTES_VALUE_CHARS):
        raise TensorError(f"{where}.data holds a value that is not a string of at most 64 KiB")
    elif not all(map(_encodable, data)):
        # A lone surrogate ("\ud800") is valid JSON but no UTF-8: parquet could not store the batch.
        raise TensorError(f"{where}.data holds a string that is not valid Unicode")
