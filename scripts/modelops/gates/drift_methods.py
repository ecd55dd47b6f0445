"""The statistical tests behind the drift gate, matching evidently's defaults column by column.

evidently (0.7, `_get_default_stattest`) picks by reference size and distinct values:
  reference rows <= 1000: numeric with > 5 values -> K-S; else chi-square (> 2 values) or z-test
  reference rows  > 1000: numeric with > 5 values -> normed Wasserstein; else Jensen-Shannon
p-value tests drift below alpha; distances drift at or above the threshold.
The numeric paths here work on pre-sorted arrays, so a million rows cost a sort and a merge.

One deliberate difference: evidently's chi-square is a goodness-of-fit test that takes
the reference proportions as exact, which ignores the reference's own sampling noise;
on random 70/30 splits of a 1,000-row data set it flags 16% of categorical columns at
alpha 0.05. Here it is the two-sample chi-square test of homogeneity (a 2 x k
contingency table), which flags 5%, as a 5% test should.

A second: above 1,000 rows evidently's Jensen-Shannon distance is the plug-in one, computed
from the samples' category shares, and that estimate is biased upward by about
sqrt((k - 1) / 8 * (1 / n_ref + 1 / n_cur)) for k categories. A column of many categories with
few rows each is over the 0.1 threshold on every honest split: 120 nationalities over 2,500 +
2,500 players give 0.11. Here the divergence (the squared distance) is corrected by its exact
expectation under no drift, and a column whose corrected distance reaches the threshold must
also pass a permutation test (see `modelops.gates.drift`).
"""

from __future__ import annotations

import math

import numpy as np

# Half-width of the window a hypergeometric distribution is summed over, in binomial standard
# deviations plus a margin: by Bernstein's inequality (which holds for sampling without
# replacement) the mass outside is below e^-50.
_WINDOW_SDS, _WINDOW_MARGIN = 10.0, 50.0
# Draws of a permutation test are made in blocks of at most this many counts (rows x categories).
_DRAW_BLOCK = 1 << 22


def merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Timsort finds the two ascending runs and merges them in linear time.
    return np.sort(np.concatenate([a, b]), kind="stable")


def few_values(sorted_values: np.ndarray, *, at_most: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values of a sorted array and how often each occurs, or None if there are more
    than `at_most`: one binary search per value, so a million continuous values cost microseconds."""
    values: list[object] = []
    ends, start = [0], 0
    while start < sorted_values.size:
        if len(values) == at_most:
            return None
        values.append(sorted_values[start])
        start = int(np.searchsorted(sorted_values, sorted_values[start], side="right"))
        ends.append(start)
    return np.array(values, dtype=sorted_values.dtype), np.diff(ends)


def few_value_counts(
    reference_sorted: np.ndarray, current_sorted: np.ndarray, *, at_most: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Counts per distinct value over both samples (evidently's test for a numeric column of few
    values treats them as categories), or None if the two have more than `at_most` together."""
    ref, cur = few_values(reference_sorted, at_most=at_most), few_values(current_sorted, at_most=at_most)
    if ref is None or cur is None:
        return None
    union = np.union1d(ref[0], cur[0])
    if union.size > at_most:
        return None
    ref_counts, cur_counts = np.zeros(union.size, dtype=np.int64), np.zeros(union.size, dtype=np.int64)
    ref_counts[np.searchsorted(union, ref[0])] = ref[1]
    cur_counts[np.searchsorted(union, cur[0])] = cur[1]
    return ref_counts, cur_counts


def wasserstein_sorted(
    reference: np.ndarray, current: np.ndarray, *, work: np.ndarray | None = None
) -> float:
    """First Wasserstein distance of two sorted samples: the area between their CDFs.
    `work`: an array of the reference's size to compute in (else one is allocated)."""
    if reference.size == current.size:
        gaps = np.subtract(reference, current, out=work)
        return float(np.mean(np.abs(gaps, out=gaps)))
    merged = merge_sorted(reference, current)
    deltas = np.diff(merged)
    ref_cdf = np.searchsorted(reference, merged[:-1], side="right") / reference.size
    cur_cdf = np.searchsorted(current, merged[:-1], side="right") / current.size
    return float(np.sum(np.abs(ref_cdf - cur_cdf) * deltas))


def _std(values: np.ndarray, work: np.ndarray | None) -> float:
    """np.std, computed in `work` when given."""
    if work is None:
        return float(np.std(values))
    deviations = np.subtract(values, values.mean(), out=work)
    return float(np.sqrt(np.mean(np.multiply(deviations, deviations, out=deviations))))


def normed_wasserstein(
    reference: np.ndarray, current: np.ndarray, *, work: np.ndarray | None = None
) -> float:
    """The Wasserstein distance in the reference's standard deviations (at least 0.001), as
    evidently norms it. `work`: an array of the reference's size to compute in."""
    return wasserstein_sorted(reference, current, work=work) / max(_std(reference, work), 0.001)


def category_counts(
    reference_codes: np.ndarray, current_codes: np.ndarray, categories: int
) -> tuple[np.ndarray, np.ndarray]:
    """Counts per category over the union of both sides' categories (codes < 0 are missing)."""
    ref = np.bincount(reference_codes[reference_codes >= 0], minlength=categories)
    cur = np.bincount(current_codes[current_codes >= 0], minlength=categories)
    seen = (ref + cur) > 0
    return ref[seen], cur[seen]


def _divergence_terms(ref_counts: np.ndarray, cur_counts: np.ndarray, n_ref: int, n_cur: int) -> np.ndarray:
    """Each category's part of the Jensen-Shannon divergence (natural log) of the two samples' shares."""
    p, q = ref_counts / n_ref, cur_counts / n_cur
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    return (left + right) / 2


def jensen_shannon_divergence(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The plug-in divergence: the square of scipy's (and evidently's) Jensen-Shannon distance."""
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    return float(np.sum(_divergence_terms(ref_counts, cur_counts, n_ref, n_cur), axis=-1))


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The plug-in Jensen-Shannon distance, as evidently computes it."""
    return math.sqrt(max(jensen_shannon_divergence(ref_counts, cur_counts), 0.0))


def _log_hypergeometric_pmf(x: int, total: int, successes: int, draws: int) -> float:
    def log_choose(n: int, k: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    return log_choose(successes, x) + log_choose(total - successes, draws - x) - log_choose(total, draws)


def hypergeometric(
    total: int, successes: np.ndarray, draws: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distributions of the successes among `draws` taken without replacement from `total`,
    one per entry of `successes`: (entry index, value, probability) for every value that can carry
    any mass. Each starts from one log-gamma evaluation and walks the ratio of neighbouring
    probabilities, so the work is one vectorised pass over the values."""
    successes = np.asarray(successes, dtype=np.int64)
    p = successes / total
    half = np.ceil(_WINDOW_SDS * np.sqrt(draws * p * (1 - p)) + _WINDOW_MARGIN)
    mean = draws * p
    low = np.maximum(np.maximum(0, successes - (total - draws)), np.floor(mean - half)).astype(np.int64)
    high = np.minimum(np.minimum(successes, draws), np.ceil(mean + half)).astype(np.int64)
    lengths = high - low + 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    entry = np.repeat(np.arange(successes.size), lengths)
    x = low[entry] + (np.arange(lengths.sum()) - starts[entry])
    c = successes[entry].astype(float)
    xf = x.astype(float)
    # log P(x + 1) - log P(x); the step out of each entry's last value is never taken.
    with np.errstate(divide="ignore"):
        step = np.log((c - xf) * (draws - xf)) - np.log((xf + 1) * (total - c - draws + xf + 1))
    step[starts + lengths - 1] = 0.0
    walked = np.cumsum(step) - step
    first = np.array(
        [_log_hypergeometric_pmf(int(lo), total, int(s), draws) for lo, s in zip(low, successes, strict=True)]
    )
    log_pmf = first[entry] + walked - walked[starts][entry]
    pmf = np.exp(log_pmf - np.maximum.reduceat(log_pmf, starts)[entry])
    pmf /= np.add.reduceat(pmf, starts)[entry]  # each entry's probabilities sum to 1
    return entry, x, pmf


def expected_divergence_without_drift(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The exact mean of the plug-in divergence when the pooled rows are dealt at random into
    samples of the two sizes: its expectation under no drift (the permutation null).

    A category seen c times in all is then seen Hypergeometric(N, c, n_ref) times in the reference,
    and the divergence is a sum of one term per category, so its mean is the sum of each term's
    mean. Categories seen equally often share one distribution: the work grows with the number of
    distinct pooled counts, not of categories (a column of identifiers costs next to nothing)."""
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    counts, categories = np.unique(ref_counts + cur_counts, return_counts=True)
    entry, x, pmf = hypergeometric(n_ref + n_cur, counts, n_ref)
    terms = _divergence_terms(x, counts[entry] - x, n_ref, n_cur)
    return float(np.sum(categories[entry] * pmf * terms))


def corrected_jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The Jensen-Shannon distance with the plug-in divergence's bias under no drift removed:
    0 when the samples differ no more than random halves of their pooled rows do on average."""
    excess = jensen_shannon_divergence(ref_counts, cur_counts) - expected_divergence_without_drift(
        ref_counts, cur_counts
    )
    return math.sqrt(max(excess, 0.0))


def permutation_p_value(
    ref_counts: np.ndarray, cur_counts: np.ndarray, *, permutations: int, seed: int
) -> float:
    """How often random deals of the pooled rows into samples of the two sizes reach the observed
    divergence: (1 + reaching) / (1 + permutations). A deal only changes the counts, so each is one
    multivariate hypergeometric draw of the reference's counts, not a shuffle of the rows."""
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    pooled = (ref_counts + cur_counts).astype(np.int64)
    observed = jensen_shannon_divergence(ref_counts, cur_counts)
    rng = np.random.default_rng(seed)
    block = max(1, _DRAW_BLOCK // pooled.size)
    reaching, done = 0, 0
    while done < permutations:
        size = min(block, permutations - done)
        drawn = rng.multivariate_hypergeometric(pooled, n_ref, size=size)
        null = np.sum(_divergence_terms(drawn, pooled - drawn, n_ref, n_cur), axis=-1)
        reaching += int(np.count_nonzero(null >= observed * (1 - 1e-9)))  # ties reach it
        done += size
    return (1 + reaching) / (1 + permutations)


def rise_p_value(ref_hits: int, ref_rows: int, cur_hits: int, cur_rows: int) -> float:
    """One-sided Fisher exact test: how likely a current sample of `cur_rows` drawn at random from
    both samples' rows holds `cur_hits` or more of their hits (missing values, say)."""
    _, x, pmf = hypergeometric(ref_rows + cur_rows, np.array([ref_hits + cur_hits]), cur_rows)
    return float(min(1.0, np.sum(pmf[x >= cur_hits])))


def chi_square_p(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Two-sample chi-square test of homogeneity over the categories seen on either side."""
    from scipy import stats  # only small samples get here: scipy.stats takes ~0.8 s to import

    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def z_test_p(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Two-proportion z-test on the share of the first category (two categories or fewer)."""
    from scipy import stats

    n_ref, n_cur = ref_counts.sum(), cur_counts.sum()
    if len(ref_counts) < 2:
        return 1.0
    p_ref, p_cur = ref_counts[0] / n_ref, cur_counts[0] / n_cur
    pooled = (ref_counts[0] + cur_counts[0]) / (n_ref + n_cur)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n_ref + 1 / n_cur))
    if spread == 0:
        return 1.0
    return float(2 * stats.norm.sf(abs((p_ref - p_cur) / spread)))


def ks_p(reference: np.ndarray, current: np.ndarray) -> float:
    from scipy import stats

    return float(stats.ks_2samp(reference, current).pvalue)


def binned_ks_p(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Two-sample K-S p-value of samples known only as counts on the same ordered bins.

    The statistic is the largest gap between the two empirical CDFs at the bin edges, which is at
    most the exact statistic (the gap can only peak between edges): binning makes the test more
    cautious, never bolder. The distribution is scipy's `kstwo` at the effective size n*m/(n+m),
    as `ks_2samp`'s asymptotic method uses it.
    """
    from scipy import stats

    n_ref, n_cur = float(ref_counts.sum()), float(cur_counts.sum())
    if not n_ref or not n_cur:
        return 1.0
    gap = float(np.max(np.abs(np.cumsum(ref_counts) / n_ref - np.cumsum(cur_counts) / n_cur)))
    effective = max(1, round(n_ref * n_cur / (n_ref + n_cur)))
    return float(min(1.0, stats.kstwo.sf(gap, effective)))


def binned_wasserstein(
    ref_counts: np.ndarray, cur_counts: np.ndarray, *, ref_sums: np.ndarray, cur_sums: np.ndarray
) -> float:
    """First Wasserstein distance of two samples known only as counts and sums of values on fixed
    bins, so that a window's counts can be added up batch by batch (or by a SQL engine) before it is
    measured. Each bin's values are taken at their mean: the distance between those two discrete
    distributions, with bins cut at the reference's quantiles, is within a fraction of a percent of
    the exact distance (tests/monitoring/test_counting.py), where spreading each bin's values evenly
    over its width was 8% off on a skewed column."""
    ref_seen, cur_seen = ref_counts > 0, cur_counts > 0
    points = np.concatenate(
        [ref_sums[ref_seen] / ref_counts[ref_seen], cur_sums[cur_seen] / cur_counts[cur_seen]]
    )
    weights = np.concatenate(
        [ref_counts[ref_seen] / ref_counts.sum(), -cur_counts[cur_seen] / cur_counts.sum()]
    )
    order = np.argsort(points, kind="stable")
    cdf_gap = np.cumsum(weights[order])[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(points[order])))


def normed_binned_wasserstein(
    ref_counts: np.ndarray,
    cur_counts: np.ndarray,
    *,
    ref_sums: np.ndarray,
    cur_sums: np.ndarray,
    reference_std: float,
) -> float:
    """`binned_wasserstein` in the reference's standard deviations (at least 0.001), as
    `normed_wasserstein` norms the exact distance."""
    distance = binned_wasserstein(ref_counts, cur_counts, ref_sums=ref_sums, cur_sums=cur_sums)
    return distance / max(reference_std, 0.001)
