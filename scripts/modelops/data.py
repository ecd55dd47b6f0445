"""Reading the local data files the gates are given (parquet or csv)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from modelops.errors import InputError

READERS = {".parquet": pd.read_parquet, ".pq": pd.read_parquet, ".csv": pd.read_csv}


def read_frame(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"{path}: unsupported file type '{path.suffix}' (use .parquet or .csv)")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        frame = reader(path)
    except Exception as error:  # pandas/pyarrow raise many kinds on a bad file
        raise InputError(
            f"{path}: unreadable ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        ) from None
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(f"{where}: column(s) {', '.join(missing)} not found")


def _shown(values: list[object], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


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
    if values.isna().any():
        raise InputError(f"{where}: {int(values.isna().sum())} missing value(s) in column '{values.name}'")
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
