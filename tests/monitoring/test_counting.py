"""Counts add up, and the distance from counts is the gate's distance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelops.config import load_environment
from modelops.gates.drift import drift_for_column, drift_from_counts
from modelops.monitoring.counting import ColumnTally, plan_column

POLICY = load_environment("prod").promotion.drift


def _tally(plan, values: pd.Series, *, batch: int) -> ColumnTally:
    tally = ColumnTally(plan)
    array = pa.array(values.astype(object).where(values.notna(), None).tolist())
    for start in range(0, len(values), batch):
        tally.add(array[start : start + batch])
    return tally


def _judge(tally: ColumnTally):
    reference, current = tally.counted()
    plan = tally.plan
    return drift_from_counts(
        plan.name,
        plan.kind,
        reference,
        current,
        policy=POLICY,
        current_kind=tally.other_kind,
        reference_std=plan.reference_std,
    )


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.15, 0.4])
def test_the_binned_distance_is_the_gates_exact_distance_within_a_few_percent(shift):
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.lognormal(8, 0.6, 20_000), name="amount")
    current = pd.Series(rng.lognormal(8 + shift, 0.6, 50_000), name="amount")
    counted = _judge(_tally(plan_column("amount", reference), current, batch=7_000))
    exact = drift_for_column("amount", reference, current, POLICY)
    assert counted.method == exact.method == "Wasserstein (normed)"
    assert counted.score == pytest.approx(exact.score, rel=0.01, abs=0.002)
    assert counted.drifted == exact.drifted


def test_values_beyond_the_references_range_are_measured_exactly():
    reference = pd.Series(np.linspace(0, 1, 5_001), name="x")
    current = pd.Series(np.linspace(0, 1, 5_001) + 3.0, name="x")  # every value beyond the last edge
    counted = _judge(_tally(plan_column("x", reference), current, batch=1_000))
    exact = drift_for_column("x", reference, current, POLICY)
    assert counted.score == pytest.approx(exact.score, rel=1e-3)


def test_a_categorical_column_scores_exactly_as_the_gate_and_new_categories_count():
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.choice(["a", "b", "c"], 5_000, p=[0.5, 0.3, 0.2]), name="purpose")
    current = pd.Series(rng.choice(["a", "b", "c", "new"], 8_000, p=[0.3, 0.3, 0.2, 0.2]), name="purpose")
    counted = _judge(_tally(plan_column("purpose", reference), current, batch=999))
    exact = drift_for_column("purpose", reference, current, POLICY)
    assert counted.score == pytest.approx(exact.score, rel=1e-12)
    assert counted.drifted and exact.drifted and counted.p_value == exact.p_value


def test_a_numerical_column_of_few_values_is_judged_like_a_category_as_the_gate_does():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.choice([1.0, 2.0, 3.0], 4_000), name="job")
    current = pd.Series(rng.choice([1.0, 2.0, 3.0], 4_000, p=[0.6, 0.2, 0.2]), name="job")
    counted = _judge(_tally(plan_column("job", reference), current, batch=500))
    exact = drift_for_column("job", reference, current, POLICY)
    assert counted.method == exact.method == "Jensen-Shannon distance (bias-corrected)"
    assert counted.score == pytest.approx(exact.score, rel=1e-12)


def test_batches_and_merged_tallies_give_the_same_counts_as_one_pass():
    rng = np.random.default_rng(3)
    reference = pd.Series(rng.normal(0, 1, 3_000), name="x")
    values = rng.normal(0.2, 1, 10_000)
    values[::17] = np.nan
    current = pd.Series(values, name="x")
    plan = plan_column("x", reference)
    whole = _tally(plan, current, batch=len(current))
    first, second = (
        _tally(plan, current.iloc[:3_333], batch=1_000),
        _tally(plan, current.iloc[3_333:], batch=4_096),
    )
    first.merge(second)
    assert np.array_equal(first.counts, whole.counts) and first.missing == whole.missing == len(values[::17])
    assert first.sums == pytest.approx(whole.sums)
    assert _judge(first).score == _judge(whole).score


def test_a_column_whose_kind_changed_is_drifted_with_the_reason():
    plan = plan_column("age", pd.Series(np.arange(2_000.0), name="age"))
    tally = ColumnTally(plan)
    tally.add(pa.array(["thirty"] * 100))
    verdict = _judge(tally)
    assert (
        verdict.drifted
        and verdict.problem == "is numerical in the reference but categorical in the current data"
    )


def _window_verdict(plan, values: np.ndarray, policy=POLICY):
    tally = ColumnTally(plan)
    tally.add(pa.array(values))
    reference, current = tally.counted()
    return drift_from_counts(
        plan.name, plan.kind, reference, current, policy=policy, reference_std=plan.reference_std
    )


def test_a_small_unshifted_window_is_not_drifted_though_its_distance_passes_the_threshold():
    rng = np.random.default_rng(7)
    plan = plan_column("amount", pd.Series(rng.lognormal(8, 0.6, 3_000), name="amount"))
    verdicts = [_window_verdict(plan, rng.lognormal(8, 0.6, 60)) for _ in range(400)]
    over = np.mean([v.score >= POLICY.distance_threshold for v in verdicts])
    flagged = np.mean([v.drifted for v in verdicts])
    assert over > 0.8  # the distance alone: noise at 60 rows reaches 0.1 most of the time
    assert flagged < POLICY.p_value * 1.6  # with the K-S test at the threshold: about the test's level
    assert all(v.p_value is not None for v in verdicts if v.score >= POLICY.distance_threshold)


def test_a_real_shift_in_a_small_window_is_still_found():
    rng = np.random.default_rng(8)
    plan = plan_column("amount", pd.Series(rng.lognormal(8, 0.6, 3_000), name="amount"))
    found = [_window_verdict(plan, rng.lognormal(8.4, 0.6, 150)).drifted for _ in range(50)]
    assert sum(found) >= 48


def test_one_windows_columns_are_judged_as_one_family_so_any_alarm_is_at_the_policys_level():
    from modelops.monitoring.job import family_policy

    rng = np.random.default_rng(9)
    columns = 20
    plans = [plan_column(f"c{i}", pd.Series(rng.normal(0, 1, 2_000), name=f"c{i}")) for i in range(columns)]
    family = family_policy(POLICY, tests=columns)
    assert family.p_value == pytest.approx(POLICY.p_value / columns)
    assert 1 / (1 + family.permutations) < family.p_value  # a category can still be found drifted
    any_alarm = {"per column": 0, "as a family": 0}
    windows = 150
    for _ in range(windows):
        samples = [rng.normal(0, 1, 80) for _ in plans]
        for name, policy in (("per column", POLICY), ("as a family", family)):
            any_alarm[name] += any(
                _window_verdict(p, s, policy).drifted for p, s in zip(plans, samples, strict=True)
            )
    assert any_alarm["per column"] / windows > 0.3  # what the alert saw before
    assert any_alarm["as a family"] / windows <= 0.1  # the policy's 5 % with room for 150 windows' noise
    assert family_policy(POLICY, tests=1) is POLICY
