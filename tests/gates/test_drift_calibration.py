"""The calibrated Jensen-Shannon method: its parts against scipy and numpy, and its verdicts on both sides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats
from scipy.spatial import distance

from modelops.config.environment import DriftPolicy
from modelops.gates import check_drift
from modelops.gates import drift_methods as m

POLICY = DriftPolicy(max_drifted_share=0.5)
METHOD = "Jensen-Shannon distance (bias-corrected)"


def _halves(pooled: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The counts of a random half of the rows behind `pooled`, and of the other half."""
    reference = np.random.default_rng(seed).multivariate_hypergeometric(pooled, pooled.sum() // 2)
    return reference, pooled - reference


def _column(reference: pd.Series, current: pd.Series, policy: DriftPolicy = POLICY) -> dict:
    result = check_drift(reference.to_frame("c"), current.to_frame("c"), policy=policy)
    return result.measured["columns"][0]


def _rows(counts: np.ndarray) -> pd.Series:
    """A text column holding category i counts[i] times."""
    return pd.Series(np.repeat([f"v{i}" for i in range(counts.size)], counts))


def test_the_plug_in_divergence_is_the_square_of_scipys_distance():
    reference, current = _halves(np.random.default_rng(0).multinomial(4000, np.ones(30) / 30), 1)
    plug_in = distance.jensenshannon(reference / reference.sum(), current / current.sum())
    assert m.jensen_shannon(reference, current) == pytest.approx(plug_in, rel=1e-12)
    assert m.jensen_shannon_divergence(reference, current) == pytest.approx(plug_in**2, rel=1e-12)


@pytest.mark.parametrize(("total", "draws"), [(9, 4), (5000, 2500), (2_000_000, 1_000_000)])
def test_hypergeometric_probabilities_are_scipys(total, draws):
    successes = np.array([0, 1, 7, total // 10, total // 2, total - 1, total])
    entry, x, pmf = m.hypergeometric(total, successes, draws)
    for index, count in enumerate(successes):
        mine = entry == index
        expected = stats.hypergeom.pmf(x[mine], total, count, draws)
        assert pmf[mine] == pytest.approx(expected, rel=1e-9, abs=1e-15)
        assert pmf[mine].sum() == pytest.approx(1.0, abs=1e-12)  # the window leaves out no mass


@pytest.mark.parametrize(("categories", "rows"), [(10, 3000), (120, 5000), (700, 2000)])
def test_the_expected_divergence_is_the_mean_over_random_halves(categories, rows):
    rng = np.random.default_rng(categories)
    pooled = rng.multinomial(rows, rng.dirichlet(np.ones(categories)))
    pooled = pooled[pooled > 0]
    reference, current = _halves(pooled, 0)
    draws = rng.multivariate_hypergeometric(pooled, reference.sum(), size=20_000)
    divergences = distance.jensenshannon(draws, pooled - draws, axis=1) ** 2
    error = divergences.std() / np.sqrt(divergences.size)
    expected = m.expected_divergence_without_drift(reference, current)
    assert expected == pytest.approx(divergences.mean(), abs=4 * error)


def test_the_permutation_p_value_is_the_share_of_row_shuffles_reaching_the_observed_divergence():
    rng = np.random.default_rng(3)
    shares = rng.dirichlet(np.ones(40))
    reference, current = rng.choice(40, 1500, p=shares), rng.choice(40, 1500, p=shares)
    rows = np.concatenate([reference, current])

    def divergence(labels: np.ndarray) -> float:
        return m.jensen_shannon_divergence(*m.category_counts(labels[:1500], labels[1500:], 40))

    observed = divergence(rows)
    shuffled = np.array([divergence(rng.permutation(rows)) for _ in range(1000)])
    by_shuffling = (1 + np.sum(shuffled >= observed)) / 1001
    counts = m.category_counts(reference, current, 40)
    by_dealing = m.permutation_p_value(*counts, permutations=1000, seed=0)
    assert by_dealing == pytest.approx(by_shuffling, abs=0.04)  # two Monte Carlo estimates of one p
    assert 0.05 < by_dealing < 0.95  # a case where the p-value is not trivially 0 or 1


def test_a_shifted_column_of_many_categories_drifts():
    pooled = np.random.default_rng(0).multinomial(10_000, np.ones(150) / 150)
    reference, current = _halves(pooled, 0)
    moved = current.copy()
    moved[:15] += moved[15:30]  # rows of 15 categories move to 15 others
    moved[15:30] = 0
    column = _column(_rows(reference), _rows(moved))
    assert column["method"] == METHOD
    assert column["drifted"] and column["score"] >= POLICY.distance_threshold
    assert column["p_value"] < POLICY.p_value


def test_the_distance_threshold_on_both_sides():
    reference = np.array([4000, 3000, 2000, 1000])
    current = np.array([2500, 3000, 2500, 2000])
    score = m.corrected_jensen_shannon(reference, current)
    at = _column(_rows(reference), _rows(current), POLICY.model_copy(update={"distance_threshold": score}))
    assert at["drifted"] and at["score"] == score and at["p_value"] == pytest.approx(1 / 1001)
    above = POLICY.model_copy(update={"distance_threshold": score + 1e-9})
    below = _column(_rows(reference), _rows(current), above)
    assert not below["drifted"] and below["p_value"] is None  # no test is needed below the threshold


def test_the_permutation_test_holds_a_sparse_column_to_its_level():
    # 800 categories over 2,400 rows, a handful of rows each: on honest splits the corrected
    # distance alone reaches 0.1 by chance more often than a 5% test would flag.
    pooled = np.random.default_rng(1).multinomial(2400, np.ones(800) / 800)
    pooled = pooled[pooled > 0]
    columns = [_column(*(_rows(counts) for counts in _halves(pooled, seed))) for seed in range(200)]
    at_threshold = np.mean([c["score"] >= POLICY.distance_threshold for c in columns])
    drifted = np.mean([c["drifted"] for c in columns])
    assert at_threshold > 1.5 * POLICY.p_value  # 9.5% of these splits
    assert drifted <= POLICY.p_value  # 3.5%


def test_identifiers_never_drift():
    # Every value once: any two samples are disjoint, exactly as random halves are.
    column = _column(pd.Series(np.arange(3000).astype(str)), pd.Series(np.arange(3000, 6000).astype(str)))
    assert column["score"] == 0.0 and not column["drifted"]


@pytest.mark.parametrize(("permutations", "valid"), [(19, False), (20, True)])
def test_permutations_must_be_able_to_reach_the_level_on_both_sides(permutations, valid):
    # The smallest permutation p-value is 1 / (1 + permutations); at level 0.05 it must be below 0.05.
    if valid:
        assert DriftPolicy(max_drifted_share=0.2, permutations=permutations).permutations == permutations
    else:
        with pytest.raises(ValidationError, match="permutations must exceed"):
            DriftPolicy(max_drifted_share=0.2, permutations=permutations)


def test_the_missing_value_rise_test_is_fishers_exact_test():
    assert m.rise_p_value(20, 100, 30, 100) == pytest.approx(
        stats.fisher_exact([[30, 70], [20, 80]], alternative="greater").pvalue, rel=1e-9
    )
    assert m.rise_p_value(0, 1000, 0, 1000) == 1.0


def _with_missing(rows: int, missing: int, seed: int) -> pd.Series:
    values = np.random.default_rng(seed).normal(size=rows)
    values[:missing] = np.nan
    return pd.Series(values)


@pytest.mark.parametrize(("rows", "reported"), [(300, False), (3000, True)])
def test_a_rise_in_missing_values_counts_only_when_larger_than_chance(rows, reported):
    # 20% missing, then 25%: over prod's allowed 2-point rise at any size, but within
    # chance for 300 rows a side (one-sided Fisher p = 0.08), far beyond it for 3,000.
    policy = POLICY.model_copy(update={"max_missing_share_increase": 0.02})
    column = _column(_with_missing(rows, rows // 5, 0), _with_missing(rows, rows // 4, 1), policy)
    assert (column["problem"] is not None) == reported
    assert column["drifted"] == reported


def test_a_column_with_no_values_on_either_side_has_not_drifted():
    empty = pd.Series([np.nan] * 2000)
    column = _column(empty, empty.copy())
    assert not column["drifted"] and column["problem"] is None
    assert column["method"] == "not tested (no values on either side)"


def test_a_column_with_no_values_on_one_side_is_still_reported():
    values = pd.Series(np.random.default_rng(0).normal(size=2000))
    column = _column(
        values, pd.Series([np.nan] * 2000), POLICY.model_copy(update={"max_missing_share_increase": 1.0})
    )
    assert column["drifted"] and column["problem"] == "has no values on one side"
