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
from typing import Any, NoReturn

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
    # Every value of a datatype, whichever tensor holds it, is checked in one pass below: an online
    # event is a row of many one-value tensors, and a check costs per call more than per value.
    pools: dict[str, list[Any]] = {}
    for index, tensor in enumerate(tensors):
        name, datatype, n, width, data = _tensor(tensor, field, index, max_rows=max_rows)
        pool = pools.get(datatype)
        if pool is None:
            pools[datatype] = list(data)
        else:
            pool += data
        if rows is None:
            rows = n
        elif n != rows:
            raise TensorError(
                f"{_where(field, index)} ({name!r}) has {n} rows where the first tensor has {rows}"
            )
        if len(values) + width > max_columns:
            raise TensorError(f"{field} give more than {max_columns} columns")
        stored = STORED_TYPES[datatype]
        if width == 1:  # most tensors: one input column each, as the pandas codec sends a frame
            column = output_column(name) if prefix else name
            if column in values:
                raise TensorError(f"{_where(field, index)} gives column {column!r} twice")
            values[column] = data
            types[column] = stored
            continue
        for j in range(width):
            column = _column_name(name, j, prefix=prefix)
            if column in values:
                raise TensorError(f"{_where(field, index)} gives column {column!r} twice")
            values[column] = data[j::width]
            types[column] = stored
    for datatype, pool in pools.items():
        if _value_problem(pool, datatype) is not None:
            _refuse_values(tensors, field, datatype)
    assert rows is not None  # tensors is non-empty
    return Columns(rows, values, types)


def _refuse_values(tensors: list[Any], field: str, datatype: str) -> NoReturn:
    """Name the first tensor of `datatype` whose values do not fit it (they were checked together)."""
    for index, tensor in enumerate(tensors):
        if tensor["datatype"] == datatype:
            data = _flat(tensor["data"], field, index, width=_width(tensor["shape"]))
            if (problem := _value_problem(data, datatype)) is not None:
                raise TensorError(f"{_where(field, index)}.data {problem}")
    raise AssertionError(f"no tensor of {datatype} holds the value that does not fit")


def _width(shape: list[int]) -> int:
    return 1 if len(shape) == 1 else shape[1]


def _where(field: str, index: int) -> str:
    return f"{field}[{index}]"


def _column_name(name: str, index: int | None, *, prefix: str) -> str:
    if prefix:
        return output_column(name, index)
    return name if index is None else f"{name}.{index}"


def _tensor(tensor: Any, field: str, index: int, *, max_rows: int) -> tuple[str, str, int, int, list[Any]]:
    """A tensor's name, datatype, rows, columns and flat data; its values are checked by the caller."""
    if not isinstance(tensor, dict):
        raise TensorError(f"{_where(field, index)} is not an object")
    name = tensor.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise TensorError(
            f"{_where(field, index)}.name is not a printable name of 1 to {MAX_NAME_CHARS} characters"
        )
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise TensorError(f"{_where(field, index)}.datatype {datatype!r} is not a V2 datatype")
    shape = tensor.get("shape")
    # `type(...) is int`: JSON's true and false are bools, which isinstance would take as 1 and 0.
    if not isinstance(shape, list) or len(shape) not in (1, 2):
        raise TensorError(f"{_where(field, index)}.shape is not [rows] or [rows, columns]")
    rows, width = shape[0], _width(shape)
    if type(rows) is not int or type(width) is not int or rows < 0 or width < 0:
        raise TensorError(f"{_where(field, index)}.shape is not [rows] or [rows, columns]")
    if rows > max_rows:
        raise TensorError(f"{_where(field, index)} has {rows} rows, over the limit of {max_rows} per event")
    if width == 0:
        raise TensorError(f"{_where(field, index)}.shape has no columns")
    data = _flat(tensor.get("data"), field, index, width=width)
    if len(data) != rows * width:
        raise TensorError(
            f"{_where(field, index)} has {len(data)} values where its shape {shape} needs {rows * width}"
        )
    return name, datatype, rows, width, data


def _flat(data: Any, field: str, index: int, *, width: int) -> list[Any]:
    """V2 JSON data is flat in row-major order; a row-nested list (as clients also send) is flattened."""
    if not isinstance(data, list):
        raise TensorError(f"{_where(field, index)}.data is not a list")
    if not data or not isinstance(data[0], list):
        return data
    flat: list[Any] = []
    for row in data:
        if not isinstance(row, list) or len(row) != width or any(isinstance(v, list) for v in row):
            raise TensorError(f"{_where(field, index)}.data nests rows that are not lists of {width} values")
        flat.extend(row)
    return flat


_EXACT = 2**53  # the largest integer a double holds exactly
_INT = frozenset({int})
_NUMBER = frozenset({int, float})
_BOOL = frozenset({bool})
_STR = frozenset({str})


def _value_problem(data: list[Any], datatype: str) -> str | None:
    """What makes a value not one of `datatype` (so that Arrow could not store it as STORED_TYPES says:
    module docstring), or None when every value is one. Each check is a pass in C (map, set, min, max,
    join), not a Python loop over the values."""
    types = set(map(type, data))
    if datatype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[datatype]
        if not types <= _INT or (data and (min(data) < low or max(data) > high)):
            return f"holds a value that is not a {datatype}"
    elif datatype in _FLOATS:
        # JSON writes 1.0 as 1; NaN and infinities are values a model may see, so they are kept. An
        # integer beyond a double's exact range is no FP value: Arrow would refuse the whole batch.
        if not types <= _NUMBER or (int in types and any(type(v) is int and abs(v) > _EXACT for v in data)):
            return "holds a value that is not a number"
    elif datatype == "BOOL":
        if not types <= _BOOL:
            return "holds a value that is not a boolean"
    elif not types <= _STR or (data and max(map(len, data)) > MAX_BYTES_VALUE_CHARS):
        return "holds a value that is not a string of at most 64 KiB"
    elif not _encodable("".join(data)):
        # A lone surrogate ("\ud800") is valid JSON but no UTF-8: parquet could not store the batch.
        # Joined, it stays a lone one: str never pairs two surrogates up into one character.
        return "holds a string that is not valid Unicode"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
