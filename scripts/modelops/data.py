"""Reading the local data files the gates are given (parquet or csv), and what their columns must hold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from modelops.errors import InputError


def _csv_header(path: Path) -> list[str]:
    # The first row as values: read_csv itself renames a repeated `a` to `a.1`, silently.
    first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0]
    return [name for name in first.tolist() if name != ""]  # blanks become "Unnamed: i", no clash


def _parquet_header(path: Path) -> list[str]:
    return list(pq.read_schema(path).names)


READERS = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv}
HEADERS = {".parquet": _parquet_header, ".pq": _parquet_header, ".csv": _csv_header}


def read_frame(path: Path | str) -> pd.DataFrame:
    """The file as a frame: one column per name, at least one row; anything else is unusable input."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise InputError(f"{path}: unsupported file type '{path.suffix}' (use .parquet or .csv)")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        names = HEADERS[suffix](path)
        repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
        frame = None if repeated else READERS[suffix](path)
    except Exception as error:  # pandas/pyarrow raise many kinds on a bad file
        raise InputError(
            f"{path}: unreadable ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        ) from None
    if repeated:
        raise InputError(f"{path}: duplicated column name(s) {_shown(repeated, limit=len(repeated))}")
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
