import math

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from modelops.gates.delong import delong_aucs, paired_auc_difference

# Hanley & McNeil (1982), Radiology 143:29-36, Table 1: ratings of 109 CT images on a five-point
# scale (1 definitely normal ... 5 definitely abnormal), counts per rating.
HANLEY_MCNEIL_NORMAL = (33, 6, 6, 11, 2)
HANLEY_MCNEIL_ABNORMAL = (3, 2, 2, 11, 33)

# DeLong, DeLong & Clarke-Pearson (1988): the paper's own example, 43 ovarian-cancer patients with
# all three tests, as printed in the SAS/STAT PROC LOGISTIC example "Comparing Receiver Operating
# Characteristic Curves": albumin, total protein, K-G score, and the outcome.
OVARIAN = """
3.0 5.8 10 0   3.2 6.3  5 1   3.9 6.8  3 1   2.8 4.8  6 0   3.2 5.8  3 1   0.9 4.0  5 0
2.5 5.7  8 0   1.6 5.6  5 1   3.8 5.7  5 1   3.7 6.7  6 1   3.2 5.4  4 1   3.8 6.6  6 1
4.1 6.6  5 1   3.6 5.7  5 1   4.3 7.0  4 1   3.6 6.7  4 0   2.3 4.4  6 1   4.2 7.6  4 0
4.0 6.6  6 0   3.5 5.8  6 1   3.8 6.8  7 1   3.0 4.7  8 0   4.5 7.4  5 1   3.7 7.4  5 1
3.1 6.6  6 1   4.1 8.2  6 1   4.3 7.0  5 1   4.3 6.5  4 1   3.2 5.1  5 1   2.6 4.7  6 1
3.3 6.8  6 0   1.7 4.0  7 0   3.7 6.1  5 1   3.3 6.3  7 1   4.2 7.7  6 1   3.5 6.2  5 1
2.9 5.7  9 0   2.1 4.8  7 1   2.8 6.2  8 0   4.0 7.0  7 1   3.3 5.7  6 1   3.7 6.9  5 1
3.6 6.6  5 1
"""


def _ovarian() -> tuple[np.ndarray, list[np.ndarray]]:
    table = np.array(OVARIAN.split(), dtype=float).reshape(-1, 4)
    albumin, protein, kg_score, outcome = table.T
    return outcome.astype(int), [albumin, protein, 10 - kg_score]  # the example scores 10 - K-G


def _by_definition(y: np.ndarray, score_sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al.'s estimator written out from the paper, pair by pair (O(m * n))."""
    positive = y == 1
    m, n = positive.sum(), (~positive).sum()
    v10, v01 = [], []
    for scores in score_sets:
        x, z = scores[positive][:, None], scores[~positive][None, :]
        psi = (x > z) + 0.5 * (x == z)  # the Mann-Whitney kernel: 1 above, 1/2 tied
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    covariance = np.cov(v10) / m + np.cov(v01) / n
    return v10.mean(axis=1), np.atleast_2d(covariance)


def _resampled_auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC of each row of a (resamples, n) batch by the rank-sum (Mann-Whitney) formula."""
    ranks = rankdata(scores, axis=1)
    m = y.sum(axis=1)
    n = y.shape[1] - m
    return ((ranks * y).sum(axis=1) - m * (m + 1) / 2) / (m * n)


def test_the_published_hanley_mcneil_example():
    """Stata's `roctab disease rating` on this table (DeLong's standard error) prints area 0.8932,
    standard error 0.0307 and the 95% interval [0.83295, 0.95339]."""
    ratings = np.arange(1, 6)
    scores = np.concatenate(
        [np.repeat(ratings, HANLEY_MCNEIL_ABNORMAL), np.repeat(ratings, HANLEY_MCNEIL_NORMAL)]
    )
    y = np.concatenate([np.ones(sum(HANLEY_MCNEIL_ABNORMAL), int), np.zeros(sum(HANLEY_MCNEIL_NORMAL), int)])
    fit = delong_aucs(y, [scores])
    assert fit.aucs[0] == pytest.approx(0.8932, abs=5e-5)
    assert math.sqrt(fit.covariance[0, 0]) == pytest.approx(0.0307, abs=5e-5)
    low, high = fit.interval(0, confidence=0.95)
    assert (low, high) == (pytest.approx(0.83295, abs=5e-6), pytest.approx(0.95339, abs=5e-6))


def test_delong_s_own_example_matches_the_estimator_written_out_pair_by_pair():
    y, score_sets = _ovarian()
    fit = delong_aucs(y, score_sets)
    aucs, covariance = _by_definition(y, score_sets)
    assert fit.aucs == pytest.approx(aucs, abs=1e-12)
    assert fit.aucs == pytest.approx([roc_auc_score(y, s) for s in score_sets], abs=1e-12)
    np.testing.assert_allclose(fit.covariance, covariance, rtol=1e-12, atol=1e-15)
    # Ties are everywhere in this data (one-decimal lab values, integer scores).
    assert all(len(np.unique(s)) < len(s) for s in score_sets)


def test_the_paired_difference_uses_the_covariance_between_the_two_models():
    y, (albumin, protein, _) = _ovarian()
    test = paired_auc_difference(y, protein, albumin, confidence=0.95)
    aucs, covariance = _by_definition(y, [protein, albumin])
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    assert test.difference == pytest.approx(aucs[0] - aucs[1], abs=1e-12)
    assert test.standard_error == pytest.approx(math.sqrt(variance), rel=1e-12)
    assert (test.low, test.high) == (
        pytest.approx(test.difference - 1.959964 * test.standard_error, abs=1e-6),
        pytest.approx(test.difference + 1.959964 * test.standard_error, abs=1e-6),
    )
    # Two correlated lab values: pairing removes most of the variance of an unpaired comparison.
    assert variance < 0.5 * (covariance[0, 0] + covariance[1, 1])
    swapped = paired_auc_difference(y, albumin, protein, confidence=0.95)
    assert swapped.z == pytest.approx(-test.z)
    assert swapped.p_value == pytest.approx(test.p_value)


def test_the_standard_error_matches_the_spread_of_bootstrap_differences():
    rng = np.random.default_rng(7)
    n = 1500
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    challenger = 1.2 * y + shared + 0.6 * rng.normal(size=n)
    champion = 1.0 * y + shared + 0.6 * rng.normal(size=n)
    test = paired_auc_difference(y, challenger, champion, confidence=0.95)
    rows = rng.integers(0, n, size=(1000, n))
    differences = _resampled_auc(y[rows], challenger[rows]) - _resampled_auc(y[rows], champion[rows])
    # 1,000 resamples estimate a standard deviation to about 2%; 10% leaves room for that alone.
    assert test.standard_error == pytest.approx(np.std(differences, ddof=1), rel=0.10)
    low, high = np.percentile(differences, [2.5, 97.5])
    assert test.low == pytest.approx(low, abs=0.2 * (high - low))
    assert test.high == pytest.approx(high, abs=0.2 * (high - low))


def test_identical_rankings_differ_by_exactly_zero():
    y = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    test = paired_auc_difference(y, scores, scores * 2, confidence=0.95)  # same order, other scale
    assert (test.difference, test.standard_error, test.low, test.high) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(test.z) and math.isnan(test.p_value)


def test_one_row_of_a_class_leaves_the_variance_undefined_not_zero():
    fit = delong_aucs(np.array([1, 0, 0, 0]), [np.array([0.9, 0.1, 0.2, 0.3])])
    assert fit.aucs[0] == 1.0
    assert np.isnan(fit.covariance).all()
    assert all(math.isnan(bound) for bound in fit.interval(0, confidence=0.95))


def test_one_class_only_is_an_error():
    with pytest.raises(ValueError, match="both classes"):
        delong_aucs(np.ones(5), [np.linspace(0, 1, 5)])
