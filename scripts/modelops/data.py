"""Reading the local data files the gates are given (parquet or csv), and what their columns must hold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelops.errors import InputError


def _csv_header(path: Path) -> list[str]:
    # The first row as values: read_csv itself renames a repeated `a` to `a.1`, silently.
    first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0]
    return [name for name in first.tolist() if name != ""]  # blanks become "Unnamed: i", no clash


def _parquet_header(path: Path) -> list[str]:
    return list(pq.read_schema(path).names)


HEADERS = {".parquet": _parquet_header, ".pq": _parquet_header, ".csv": _csv_header}


def _read_parquet(path: Path, columns: list[str] | None, text_as_categories: bool) -> pd.DataFrame:
    if not text_as_categories:
        return pd.read_parquet(path, columns=columns)
    schema = pq.read_schema(path)
    text = [
        name
        for name in (schema.names if columns is None else columns)
        if pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type)
    ]
    # Text read as Arrow dictionaries becomes pandas categoricals: one string per distinct value,
    # not one Python object per row (at a million rows, most of the time a read takes). The file
    # is memory-mapped rather than copied into buffers first, and one block per column spares
    # copying every number into one 2-D block.
    table = pq.read_table(
        path, columns=columns, read_dictionary=text, use_pandas_metadata=True, memory_map=True
    )
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _read_csv(path: Path, columns: list[str] | None, text_as_categories: bool) -> pd.DataFrame:
    return pd.read_csv(path, usecols=columns)


READERS = {".parquet": _read_parquet, ".pq": _read_parquet, ".csv": _read_csv}


def _readable(path: Path | str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in READERS:
        raise InputError(f"{path}: unsupported file type '{path.suffix}' (use .parquet or .csv)")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    return path


def _unreadable(path: Path, error: Exception) -> InputError:
    return InputError(f"{path}: unreadable ({type(error).__name__}: {str(error).splitlines()[0][:120]})")


def read_header(path: Path | str) -> list[str]:
    """The file's column names in order, repeated ones included, without reading its data."""
    path = _readable(path)
    try:
        return HEADERS[path.suffix.lower()](path)
    except Exception as error:  # pandas/pyarrow raise many kinds on a bad file
        raise _unreadable(path, error) from None


def read_frame(
    path: Path | str, *, columns: Sequence[str] | None = None, text_as_categories: bool = False
) -> pd.DataFrame:
    """The file as a frame: one column per name, at least one row; anything else is unusable input.

    `columns`: read only those of them the file has, in its order (callers name the missing ones);
    if it has none of them, every column, so that the frame still holds the file's rows.
    `text_as_categories`: text columns of a parquet file as pandas categoricals, for callers that
    only compare values; what a column holds is the same, and reading it is several times faster.
    """
    path = _readable(path)
    names = read_header(path)
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if repeated:
        raise InputError(f"{path}: duplicated column name(s) {_shown(repeated, limit=len(repeated))}")
    wanted = None if columns is None else [name for name in names if name in set(columns)] or None
    try:
        frame = READERS[path.suffix.lower()](path, wanted, text_as_categories)
    except Exception as error:  # pandas/pyarrow raise many kinds on a bad file
        raise _unreadable(path, error) from None
    if frame.empty:
        raise InputError(f"{path}: the data has no rows")
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(f"{where}: column(s) {', '.join(missing)} not found")


def _shown(values: Sequence[object], limit: int = 5) -> str:
    """Up to `limit` values as Python writes them (2, not np.int64(2)), then how many more."""
    plain = [value.item() if isinstance(value, np.generic) else value for value in values]
    shown = ", ".join(repr(v) for v in plain[:limit])
    return shown + (f" (and {len(plain) - limit} more)" if len(plain) > limit else "")


def _no_missing(values: pd.Series, where: str) -> None:
    if values.isna().any():
        raise InputError(f"{where}: {int(values.isna().sum())} missing value(s) in column '{values.name}'")


def binary_labels(
    values: pd.Series, *, classes: Sequence[object], positive_class: object, where: str
) -> pd.Series:
    """1 where the value is the positive class, 0 where it is the other class.

    Anything outside `classes` (text where the classes are numbers, a third class, booleans) is
    unusable input: counting it as the negative class would judge a model on labels nobody gave.
    """
    if positive_class not in classes:
        raise InputError(
            f"{where}: positive class {positive_class!r} is not one of the classes {list(classes)}"
        )
    _no_missing(values, where)
    booleans_expected = all(isinstance(c, bool) for c in classes)
    if pd.api.types.is_bool_dtype(values) and not booleans_expected:
        raise InputError(f"{where}: column '{values.name}' holds booleans, not the classes {list(classes)}")
    outside = values[~values.isin(list(classes))]
    if not outside.empty:
        raise InputError(
            f"{where}: column '{values.name}' holds values outside the classes {list(classes)}: "
            f"{_shown(list(pd.unique(outside)))}"
        )
    positive = values == positive_class
    if not positive.any():
        raise InputError(
            f"{where}: positive class {positive_class!r} does not occur in column '{values.name}'"
        )
    return positive.astype("int64")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)  # np.bool_ is no number


def prediction_scores(values: pd.Series, *, where: str) -> np.ndarray:
    """A column of predictions as positive-class scores.

    It holds either scores of the positive class in [0, 1] or predicted labels, 1 for the positive
    class and 0 for the other (the scores a hard classifier gives). The label's own classes play no
    part, so text or booleans are unusable input here, never read as some class.
    """
    _no_missing(values, where)
    column = f"{where}: column '{values.name}'"
    if pd.api.types.is_bool_dtype(values):
        raise InputError(f"{column} holds booleans, not scores in [0, 1] or predicted labels 0/1")
    if not pd.api.types.is_numeric_dtype(values):
        text = [value for value in pd.unique(values) if not _is_number(value)]
        raise InputError(f"{column} holds values that are not numbers: {_shown(text)}")
    scores = values.to_numpy(dtype=float)
    outside = ~((scores >= 0) & (scores <= 1))  # inf and -inf are outside too
    if outside.any():
        raise InputError(f"{column} holds values outside [0, 1]: {_shown(list(pd.unique(values[outside])))}")
    return scores
