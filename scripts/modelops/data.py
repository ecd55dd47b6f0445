"""Reading the local data files the gates are given (parquet or csv)."""

from __future__ import annotations

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


def binary_labels(values: pd.Series, positive_class: object, where: str) -> pd.Series:
    """1 where the value is the positive class, else 0; missing labels are unusable input."""
    if values.isna().any():
        raise InputError(f"{where}: {int(values.isna().sum())} missing value(s) in column '{values.name}'")
    as_text = values.astype(str)
    return (as_text == str(positive_class)).astype("int64")
