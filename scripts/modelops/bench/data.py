"""Deterministic synthetic data for the benchmark: drift frames and a scored holdout.

The drift frames are built so that the gate and evidently must agree column by column:
a drifted column moves by at least 0.5 standard deviations (normed Wasserstein about
0.5) or has its category shares reversed (Jensen-Shannon about 0.25), while every other
column is drawn from the same distribution on both sides (distance about 1/sqrt(rows),
under 0.01 at 100k rows). Both are far from the 0.1 threshold, so sampling noise and a
subsample cannot flip a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = [f"num_{i:02d}" for i in range(20)]
# Shift of the current mean, in reference standard deviations, for the drifted numeric columns.
NUMERIC_SHIFTS = {"num_03": 0.5, "num_08": 0.75, "num_13": 1.0, "num_18": 1.5}
CATEGORIES = {
    "channel": ["web", "store", "phone"],
    "region": ["north", "south", "east", "west"],
    "plan": ["basic", "plus", "pro", "team", "enterprise"],
    "device": ["desktop", "mobile"],
    "segment": ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
}
DRIFTED_CATEGORICAL = "region"
# Reference and current category shares of the drifted categorical column: the order reverses.
_REGION_SHARES = ([0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4])

SEX = ["female", "male"]
AGE_BANDS = ["18-29", "30-44", "45-59", "60+"]
SENSITIVE = ("sex", "age_band")
LABEL, CHALLENGER, CHAMPION = "label", "challenger_score", "champion_score"

FILES = ("reference", "current", "reference_sample", "current_sample", "holdout")


def expected_drifted() -> set[str]:
    return {*NUMERIC_SHIFTS, DRIFTED_CATEGORICAL}


def _numeric_base(rng: np.random.Generator, index: int, rows: int) -> np.ndarray:
    """A few shapes (normal, skewed, bounded, heavy-ish tail) so the test is not only about normals."""
    shape = index % 4
    if shape == 0:
        return rng.normal(10.0 * index, 1.0 + index, rows)
    if shape == 1:
        return rng.lognormal(1.0, 0.5, rows)
    if shape == 2:
        return rng.uniform(-index, index + 1.0, rows)
    return rng.gamma(2.0, 1.0 + index / 10, rows)


def _categorical(rng: np.random.Generator, labels: list[str], shares: list[float] | None, rows: int):
    codes = rng.choice(len(labels), size=rows, p=shares)
    # Plain Python strings (object dtype), as a frame read from a CSV or a database would hold.
    return np.array(labels, dtype=object)[codes]


def drift_frame(rows: int, seed: int, *, current: bool) -> pd.DataFrame:
    """One side of the drift comparison; `current=True` applies the designed drift."""
    rng = np.random.default_rng([seed, int(current)])
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(NUMERIC):
        values = _numeric_base(rng, index, rows)
        if current and name in NUMERIC_SHIFTS:
            # The population sd, from a fixed-seed reference draw, so both sides agree on the unit.
            unit = float(np.std(_numeric_base(np.random.default_rng([seed, 99, index]), index, 100_000)))
            values = values + NUMERIC_SHIFTS[name] * unit
        columns[name] = values
    for name, labels in CATEGORIES.items():
        shares = None
        if name == DRIFTED_CATEGORICAL:
            shares = _REGION_SHARES[int(current)]
        columns[name] = _categorical(rng, labels, shares, rows)
    return pd.DataFrame(columns)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def holdout_frame(rows: int, seed: int) -> pd.DataFrame:
    """Labels, two sensitive features and two models' positive-class scores.

    The challenger separates the classes a little better than the champion (ROC AUC about
    0.82 vs 0.79) and their errors are correlated, as two models of the same data would be.
    Base rates differ slightly by group, so the fairness numbers are small but not zero.
    """
    rng = np.random.default_rng([seed, 2])
    sex = rng.choice(len(SEX), size=rows)
    age = rng.choice(len(AGE_BANDS), size=rows, p=[0.2, 0.3, 0.3, 0.2])
    base_rate = 0.5 + 0.02 * (sex - 0.5) + 0.015 * (age - 1.5)
    label = (rng.random(rows) < base_rate).astype(np.int64)
    noise = rng.normal(size=rows)
    champion_noise = 0.7 * noise + np.sqrt(1 - 0.7**2) * rng.normal(size=rows)
    return pd.DataFrame(
        {
            LABEL: label,
            "sex": np.array(SEX, dtype=object)[sex],
            "age_band": np.array(AGE_BANDS, dtype=object)[age],
            CHALLENGER: _sigmoid(1.29 * (label - 0.5) + noise),
            CHAMPION: _sigmoid(1.15 * (label - 0.5) + champion_noise),
        }
    )


@dataclass(frozen=True)
class Sizes:
    rows: int
    holdout_rows: int
    sample_rows: int
    seed: int = 0


def write_all(folder: Path, sizes: Sizes) -> None:
    """Write every frame to parquet, so each side only reads (and holds) the data it is given."""
    folder.mkdir(parents=True, exist_ok=True)
    for side in ("reference", "current"):
        frame = drift_frame(sizes.rows, sizes.seed, current=side == "current")
        frame.to_parquet(folder / f"{side}.parquet", index=False)
        sample_rows = min(sizes.sample_rows, sizes.rows)
        picked = np.random.default_rng([sizes.seed, 3, side == "current"]).choice(
            sizes.rows, size=sample_rows, replace=False
        )
        sample = frame.iloc[np.sort(picked)].reset_index(drop=True)
        sample.to_parquet(folder / f"{side}_sample.parquet", index=False)
    holdout_frame(sizes.holdout_rows, sizes.seed).to_parquet(folder / "holdout.parquet", index=False)


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{name}.parquet")
