"""Drift gate: schema and missing values first, then one test per column, then the drifted share.

A column missing from the current data, of another kind, flooded with missing values or
holding infinite values is reported as drifted with the reason; evidently would drop it silently.

Two thresholds on sample statistics are calibrated against the samples' own noise, so that two
random halves of one data set raise no alarm (the normed Wasserstein distance needs nothing of
the kind: on random halves of every data set the dependencies ship, it never reached 0.1):
- a categorical column's Jensen-Shannon distance is corrected by its expected value under no
  drift, and one that still reaches the threshold must also pass a permutation test: the change
  is large enough to matter and larger than chance;
- a rise in missing values above the allowed one must also be larger than chance (a one-sided
  Fisher exact test): a 262-row half of a column 21% missing is 30% missing on some splits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from modelops.config.environment import DriftPolicy
from modelops.gates import drift_methods as m
from modelops.gates.result import GateResult, fmt


@dataclass(frozen=True)
class ColumnDrift:
    name: str
    kind: str  # "numerical" | "categorical"
    drifted: bool
    method: str
    score: float | None
    threshold: float | None
    reference_missing_share: float
    current_missing_share: float
    problem: str | None = None  # why the column could not be tested as usual
    # The p-value a distance at the threshold must also pass: the permutation test's for a
    # bias-corrected Jensen-Shannon distance, the binned K-S test's for a window's Wasserstein.
    p_value: float | None = None

    def to_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


# A column's missing-value share in the reference and in the current data.
MissingShares = tuple[float, float]


def column_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "categorical"
    return "numerical"


@dataclass(frozen=True)
class _Side:
    """What one side's column holds besides the values compared."""

    rows: int
    missing: int
    infinite: int = 0

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def empty(self) -> bool:
        return self.missing == self.rows


class _Scratch:
    """Arrays each worker thread reuses from column to column during one check. A fresh array
    per sort is paged in anew every time: at a million rows that was a third of the check."""

    def __init__(self) -> None:
        self._local = threading.local()

    def array(self, slot: str, size: int) -> np.ndarray:
        arrays = self._local.__dict__.setdefault("arrays", {})
        if slot not in arrays or arrays[slot].size < size:
            arrays[slot] = np.empty(size)
        return arrays[slot][:size]


def _sorted_numbers(series: pd.Series, into: np.ndarray) -> tuple[np.ndarray, _Side]:
    """The finite values, sorted (in `into`, of the series' size), and how many others are missing
    or infinite.

    One sort and three binary searches: numpy sorts -inf first, then the numbers, inf, and NaN
    last, so the finite values are a slice of the sorted array, never a copy. inf and -inf are
    values, not missing ones.
    """
    ordered = into
    np.copyto(ordered, series.to_numpy(dtype=float, na_value=np.nan))
    ordered.sort()
    first = int(np.searchsorted(ordered, -np.inf, side="right"))
    last = int(np.searchsorted(ordered, np.inf, side="left"))
    end = int(np.searchsorted(ordered, np.inf, side="right"))
    return ordered[first:last], _Side(ordered.size, ordered.size - end, first + end - last)


def _infinite_problem(reference: _Side, current: _Side) -> str | None:
    """Infinite values have no distance to measure: a finding, never dropped like missing ones."""
    found = [
        f"{side.infinite} in the {name} data"
        for name, side in (("reference", reference), ("current", current))
        if side.infinite
    ]
    return f"holds infinite values: {' and '.join(found)}" if found else None


def _shared_codes(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes over both sides, so a category means the same code on each (-1: missing)."""
    if _categoricals_alike(reference, current):
        # Recode the two sets of categories, not the rows: no value is built as a Python object.
        both = union_categoricals([reference.array, current.array], ignore_order=True)
        codes, categories = both.codes, len(both.categories)
    else:
        codes, uniques = pd.factorize(pd.concat([reference, current], ignore_index=True))
        categories = len(uniques)
    return codes[: len(reference)], codes[len(reference) :], categories


def _categoricals_alike(reference: pd.Series, current: pd.Series) -> bool:
    return (
        isinstance(reference.dtype, pd.CategoricalDtype)
        and isinstance(current.dtype, pd.CategoricalDtype)
        and reference.cat.categories.dtype == current.cat.categories.dtype
    )


def _jensen_shannon(
    name: str,
    kind: str,
    ref_counts: np.ndarray,
    cur_counts: np.ndarray,
    policy: DriftPolicy,
    shares: MissingShares,
) -> ColumnDrift:
    """Drifted when the bias-corrected distance reaches the threshold and re-dealing the pooled rows
    at random rarely gives as large a divergence: the test only runs for columns at the threshold."""
    score = m.corrected_jensen_shannon(ref_counts, cur_counts)
    p = None
    if score >= policy.distance_threshold:
        p = m.permutation_p_value(ref_counts, cur_counts, permutations=policy.permutations, seed=policy.seed)
    return ColumnDrift(
        name,
        kind,
        p is not None and p < policy.p_value,
        "Jensen-Shannon distance (bias-corrected)",
        score,
        policy.distance_threshold,
        *shares,
        p_value=p,
    )


def _distance_or_test(
    name: str,
    kind: str,
    ref_counts: np.ndarray,
    cur_counts: np.ndarray,
    ref_rows: int,
    policy: DriftPolicy,
    shares: MissingShares,
) -> ColumnDrift:
    """Few-valued columns: Jensen-Shannon on large samples, chi-square or z-test on small ones."""
    if ref_rows > policy.small_sample_rows:
        return _jensen_shannon(name, kind, ref_counts, cur_counts, policy, shares)
    if len(ref_counts) > 2:
        p, method = m.chi_square_p(ref_counts, cur_counts), "chi-square p-value"
    else:
        p, method = m.z_test_p(ref_counts, cur_counts), "Z-test p-value"
    return ColumnDrift(name, kind, p < policy.p_value, method, p, policy.p_value, *shares)


def _test_numerical(
    name: str,
    ref_sorted: np.ndarray,
    cur_sorted: np.ndarray,
    policy: DriftPolicy,
    shares: MissingShares,
    work: np.ndarray,
) -> ColumnDrift:
    few = m.few_value_counts(ref_sorted, cur_sorted, at_most=5)
    if few is not None:  # few values: evidently treats the column like a category
        return _distance_or_test(name, "numerical", *few, ref_sorted.size, policy, shares)
    if ref_sorted.size <= policy.small_sample_rows:
        p = m.ks_p(ref_sorted, cur_sorted)
        return ColumnDrift(name, "numerical", p < policy.p_value, "K-S p-value", p, policy.p_value, *shares)
    score = m.normed_wasserstein(ref_sorted, cur_sorted, work=work[: ref_sorted.size])
    return _wasserstein_verdict(name, score, policy, shares)


def _wasserstein_verdict(name: str, score: float, policy: DriftPolicy, shares: MissingShares) -> ColumnDrift:
    return ColumnDrift(
        name,
        "numerical",
        score >= policy.distance_threshold,
        "Wasserstein (normed)",
        score,
        policy.distance_threshold,
        *shares,
    )


def _problem(name: str, kind: str, problem: str, shares: MissingShares) -> ColumnDrift:
    return ColumnDrift(name, kind, True, "not tested", None, None, *shares, problem=problem)


def _schema_problem(kind: str, current_kind: str, ref: _Side, cur: _Side, policy: DriftPolicy) -> str | None:
    if current_kind != kind:
        return f"is {kind} in the reference but {current_kind} in the current data"
    if cur.missing_share - ref.missing_share > policy.max_missing_share_increase and (
        m.rise_p_value(ref.missing, ref.rows, cur.missing, cur.rows) < policy.p_value
    ):
        return (
            f"missing values rose from {ref.missing_share:.0%} to {cur.missing_share:.0%} "
            f"(allowed rise {policy.max_missing_share_increase:.0%})"
        )
    if ref.empty != cur.empty:
        return "has no values on one side"
    return None


def drift_for_column(
    name: str,
    reference: pd.Series,
    current: pd.Series | None,
    policy: DriftPolicy,
    *,
    scratch: _Scratch | None = None,
) -> ColumnDrift:
    kind = column_kind(reference)
    scratch = scratch or _Scratch()
    if current is None:
        share = _Side(len(reference), int(reference.isna().sum())).missing_share
        return _problem(name, kind, "missing from the current data", (share, float("nan")))
    current_kind = column_kind(current)
    infinite = None
    if kind == "numerical" and current_kind == "numerical":
        ref_values, ref = _sorted_numbers(reference, scratch.array("reference", len(reference)))
        cur_values, cur = _sorted_numbers(current, scratch.array("current", len(current)))
        infinite = _infinite_problem(ref, cur)
    else:
        ref_codes, cur_codes, categories = _shared_codes(reference, current)
        ref = _Side(ref_codes.size, int(np.count_nonzero(ref_codes < 0)))
        cur = _Side(cur_codes.size, int(np.count_nonzero(cur_codes < 0)))
    shares = (ref.missing_share, cur.missing_share)
    problem = _schema_problem(kind, current_kind, ref, cur, policy) or infinite
    if problem:
        return _problem(name, kind, problem, shares)
    if ref.empty:  # and so is the current data: nothing to compare, and nothing changed
        return ColumnDrift(name, kind, False, "not tested (no values on either side)", None, None, *shares)
    if kind == "numerical":
        work = scratch.array("work", len(reference))
        return _test_numerical(name, ref_values, cur_values, policy, shares, work)
    ref_counts, cur_counts = m.category_counts(ref_codes, cur_codes, categories)
    return _distance_or_test(name, kind, ref_counts, cur_counts, ref.rows - ref.missing, policy, shares)


@dataclass(frozen=True)
class CountedColumn:
    """One side of a column reduced to counts that add up: a window's batches (or a SQL engine's
    GROUP BY over the same parquet) can each count their rows, and the sums are measured once.

    `counts` are per category for a categorical column (the two sides aligned on one list of
    categories), and for a numerical one per bin (both sides on the same bins); `sums` are then the
    sums of each bin's values. `on_edges`: for a numerical column whose reference holds at most 5
    values (the bins are then cut at those values), how many finite values are exactly each one."""

    rows: int
    missing: int
    counts: np.ndarray
    infinite: int = 0
    sums: np.ndarray | None = None
    on_edges: np.ndarray | None = None

    @property
    def side(self) -> _Side:
        return _Side(self.rows, self.missing, self.infinite)


# At most this many distinct values make a numerical column one judged like a category (evidently's rule).
FEW_VALUES = 5


def _few_value_counts(
    reference: CountedColumn, current: CountedColumn
) -> tuple[np.ndarray, np.ndarray] | None:
    """Counts per value when the reference holds at most FEW_VALUES values and every finite current
    value is one of them: the counted form of `few_value_counts` (the gate's path for such columns)."""
    if reference.on_edges is None or current.on_edges is None or reference.on_edges.size > FEW_VALUES:
        return None
    ref_finite = reference.rows - reference.missing - reference.infinite
    cur_finite = current.rows - current.missing - current.infinite
    if reference.on_edges.sum() != ref_finite or current.on_edges.sum() != cur_finite:
        return None
    return reference.on_edges, current.on_edges


def drift_from_counts(
    name: str,
    kind: str,
    reference: CountedColumn,
    current: CountedColumn | None,
    *,
    policy: DriftPolicy,
    current_kind: str | None = None,
    reference_std: float = 0.0,
) -> ColumnDrift:
    """The gate's verdict on one column from counts: the same schema rules, distances, thresholds and
    permutation test as `drift_for_column`, for a live window too large to hold.

    The distance scale is always used (normed Wasserstein, bias-corrected Jensen-Shannon), and a
    distance at the threshold must also be larger than chance, since a quiet hour's window may hold
    only a few hundred rows: a Jensen-Shannon distance must pass the permutation test, a Wasserstein
    distance the K-S test on the same bins (`binned_ks_p`, never bolder than the exact test). A numerical
    column needs `sums` on both sides and `reference_std` (of the reference's finite values); the
    current values' kind (`current_kind`) is the reference's unless given."""
    if current is None:
        return _problem(
            name, kind, "missing from the current data", (reference.side.missing_share, float("nan"))
        )
    ref, cur = reference.side, current.side
    shares = (ref.missing_share, cur.missing_share)
    problem = _schema_problem(kind, current_kind or kind, ref, cur, policy) or _infinite_problem(ref, cur)
    if problem:
        return _problem(name, kind, problem, shares)
    if ref.empty:
        return ColumnDrift(name, kind, False, "not tested (no values on either side)", None, None, *shares)
    if kind == "categorical":
        seen = (reference.counts + current.counts) > 0
        return _jensen_shannon(name, kind, reference.counts[seen], current.counts[seen], policy, shares)
    few = _few_value_counts(reference, current)
    if few is not None:
        return _jensen_shannon(name, kind, *few, policy, shares)
    if reference.sums is None or current.sums is None:
        raise ValueError(f"column {name}: a numerical column's counts need the sums of their bins")
    score = m.normed_binned_wasserstein(
        reference.counts,
        current.counts,
        ref_sums=reference.sums,
        cur_sums=current.sums,
        reference_std=reference_std,
    )
    if score < policy.distance_threshold:
        return _wasserstein_verdict(name, score, policy, shares)
    # At the threshold the distance must also be larger than chance: a window of a few hundred
    # rows of unshifted traffic reaches 0.1 on noise alone (tests/monitoring/test_counting.py).
    p = m.binned_ks_p(reference.counts, current.counts)
    return ColumnDrift(
        name,
        "numerical",
        p < policy.p_value,
        "Wasserstein (normed)",
        score,
        policy.distance_threshold,
        *shares,
        p_value=p,
    )


def _each_column(judge: Callable[..., ColumnDrift], columns: list[tuple]) -> list[ColumnDrift]:
    """Columns are judged side by side, one per core: they are independent, and their work is
    numpy's sorts and passes over arrays, which release the GIL."""
    workers = min(len(columns), os.cpu_count() or 1)
    if workers <= 1:
        return [judge(*column) for column in columns]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(judge, *zip(*columns, strict=True)))


def check_drift(
    reference: pd.DataFrame, current: pd.DataFrame, *, policy: DriftPolicy, columns: list[str] | None = None
) -> GateResult:
    """Compare `current` with `reference` over `columns` (default: every reference column)."""
    reasons: list[str] = []
    if reference.empty or current.empty:
        side = "reference" if reference.empty else "current"
        return GateResult("drift", False, (f"the {side} data has no rows",), {"columns": []})
    checked = list(columns) if columns is not None else list(reference.columns)
    absent = [c for c in checked if c not in reference.columns]
    if absent:
        return GateResult(
            "drift",
            False,
            (f"column(s) {', '.join(absent)} missing from the reference data",),
            {"columns": []},
        )
    # The frames are only read here, in this thread; each column's work gets its two series.
    pairs = [(name, reference[name], current[name] if name in current.columns else None) for name in checked]
    scratch = _Scratch()
    results = _each_column(
        lambda name, ref, cur: drift_for_column(name, ref, cur, policy, scratch=scratch), pairs
    )
    for column in results:
        if column.problem:
            reasons.append(f"column {column.name} {column.problem}")
    drifted = [c.name for c in results if c.drifted]
    share = len(drifted) / len(results) if results else 0.0
    if share > policy.max_drifted_share:
        reasons.append(
            f"{len(drifted)} of {len(results)} columns drifted ({fmt(share, 2)}), more than the allowed "
            f"share {fmt(policy.max_drifted_share, 2)}: {', '.join(drifted)}"
        )
    extra = sorted(set(current.columns) - set(reference.columns))
    return GateResult(
        "drift",
        not reasons,
        tuple(reasons),
        {
            "reference_rows": len(reference),
            "current_rows": len(current),
            "drifted_share": share,
            "max_drifted_share": policy.max_drifted_share,
            "extra_columns": extra,
            "columns": [c.to_dict() for c in results],
        },
    )
