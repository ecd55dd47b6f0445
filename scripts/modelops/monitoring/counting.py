"""A window's columns reduced to counts, batch by batch: counts add up, so the window never has to be
held, and the same sums could come from a SQL engine's GROUP BY over the same parquet.

Numerical columns are counted on bins fixed from the reference (its quantiles, or its values when it
holds at most five), categorical ones per category. The distance is then the gate's
(`modelops.gates.drift.drift_from_counts`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelops.gates.drift import FEW_VALUES, CountedColumn, column_kind

# Quantile bins of the reference: the binned Wasserstein distance is then within a small share of
# the exact one (tests/monitoring/test_counting.py measures it against the gate's).
NUMERIC_BINS = 200
NUMERICAL, CATEGORICAL = "numerical", "categorical"


@dataclass(frozen=True)
class NumberCounts:
    counts: np.ndarray
    sums: np.ndarray
    missing: int
    infinite: int
    on_edges: np.ndarray | None


def count_numbers(values: np.ndarray, edges: np.ndarray, *, few: bool) -> NumberCounts:
    """Counts and sums of `values` (NaN: missing) on the bins `edges` cut: below the first edge,
    [edges[i], edges[i + 1]), and from the last edge on."""
    missing = int(np.count_nonzero(np.isnan(values)))
    infinite = int(np.count_nonzero(np.isinf(values)))
    finite = values[np.isfinite(values)] if missing or infinite else values
    slot = np.searchsorted(edges, finite, side="right")
    counts = np.bincount(slot, minlength=edges.size + 1)
    sums = np.bincount(slot, weights=finite, minlength=edges.size + 1)
    on_edges = None
    if few:
        at = np.clip(slot - 1, 0, edges.size - 1)
        hit = (slot > 0) & (edges[at] == finite)
        on_edges = np.bincount(at[hit], minlength=edges.size)
    return NumberCounts(counts, sums, missing, infinite, on_edges)


def _finite_floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class ColumnPlan:
    """How a column's values are counted, fixed from the reference, with the reference's own counts."""

    name: str
    kind: str
    reference: CountedColumn
    edges: np.ndarray | None = None  # numerical
    reference_std: float = 0.0
    categories: tuple[object, ...] = ()  # categorical: the reference's categories, in its order

    @property
    def few(self) -> bool:
        return self.edges is not None and self.edges.size <= FEW_VALUES


def plan_numbers(name: str, values: np.ndarray) -> ColumnPlan:
    """A numerical column's bins: the reference's values when it holds at most five (the gate then
    compares them like categories), else its quantiles."""
    finite = values[np.isfinite(values)]
    distinct = np.unique(finite)
    if distinct.size == 0:
        edges = np.zeros(1)
    elif distinct.size <= FEW_VALUES:
        edges = distinct
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, NUMERIC_BINS + 1)))
    counted = count_numbers(values, edges, few=edges.size <= FEW_VALUES)
    reference = CountedColumn(
        rows=values.size,
        missing=counted.missing,
        counts=counted.counts,
        infinite=counted.infinite,
        sums=counted.sums,
        on_edges=counted.on_edges,
    )
    std = float(np.std(finite)) if finite.size else 0.0
    return ColumnPlan(name, NUMERICAL, reference, edges=edges, reference_std=std)


def plan_column(name: str, series: pd.Series) -> ColumnPlan:
    if column_kind(series) == NUMERICAL:
        return plan_numbers(name, _finite_floats(series))
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]  # a categorical dtype lists categories no row holds
    reference = CountedColumn(
        rows=len(series), missing=int(series.isna().sum()), counts=counts.to_numpy(dtype=np.int64)
    )
    return ColumnPlan(name, CATEGORICAL, reference, categories=tuple(counts.index))


def arrow_kind(array: pa.Array | pa.ChunkedArray) -> str:
    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    return NUMERICAL if numeric else CATEGORICAL


@dataclass
class ColumnTally:
    """The current side of one column, added to batch by batch (and mergeable with another tally)."""

    plan: ColumnPlan
    rows: int = 0
    missing: int = 0
    infinite: int = 0
    seen: bool = False  # in at least one file
    other_kind: str | None = None  # the kind the payloads hold, when it is not the reference's
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sums: np.ndarray = field(default_factory=lambda: np.zeros(0))
    on_edges: np.ndarray | None = None
    categories: Counter[object] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.plan.edges is not None and self.counts.size == 0:
            self.counts = np.zeros(self.plan.edges.size + 1, dtype=np.int64)
            self.sums = np.zeros(self.plan.edges.size + 1)
            if self.plan.few:
                self.on_edges = np.zeros(self.plan.edges.size, dtype=np.int64)

    def add_absent(self, rows: int) -> None:
        """Rows of a file without the column: they hold no value for it."""
        self.rows += rows
        self.missing += rows

    def add(self, array: pa.Array | pa.ChunkedArray) -> None:
        self.seen = True
        self.rows += len(array)
        kind = arrow_kind(array)
        if kind != self.plan.kind:
            self.other_kind = kind
            self.missing += array.null_count
            return
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if kind == NUMERICAL:
            assert self.plan.edges is not None
            values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
            counted = count_numbers(values, self.plan.edges, few=self.plan.few)
            self.missing += counted.missing
            self.infinite += counted.infinite
            self.counts += counted.counts
            self.sums += counted.sums
            if self.on_edges is not None and counted.on_edges is not None:
                self.on_edges += counted.on_edges
            return
        self.missing += array.null_count
        frequencies = pc.value_counts(pc.drop_null(array))
        values = frequencies.field("values").to_pylist()
        counts = frequencies.field("counts").to_numpy()
        self.categories.update(dict(zip(values, counts.tolist(), strict=True)))

    def merge(self, other: ColumnTally) -> None:
        """Add another tally of the same column (another batch, file or worker)."""
        self.rows += other.rows
        self.missing += other.missing
        self.infinite += other.infinite
        self.seen = self.seen or other.seen
        self.other_kind = self.other_kind or other.other_kind
        if self.counts.size:
            self.counts += other.counts
            self.sums += other.sums
        if self.on_edges is not None and other.on_edges is not None:
            self.on_edges += other.on_edges
        self.categories.update(other.categories)

    def counted(self) -> tuple[CountedColumn, CountedColumn] | None:
        """(reference, current) counts on the same bins or categories; None if no file held the column."""
        if not self.seen:
            return None
        if self.plan.kind == NUMERICAL:
            current = CountedColumn(
                self.rows,
                self.missing,
                self.counts,
                infinite=self.infinite,
                sums=self.sums,
                on_edges=self.on_edges,
            )
            return self.plan.reference, current
        known = {category: index for index, category in enumerate(self.plan.categories)}
        new = sorted((c for c in self.categories if c not in known), key=str)
        order = [*self.plan.categories, *new]
        reference_counts = np.zeros(len(order), dtype=np.int64)
        reference_counts[: len(self.plan.categories)] = self.plan.reference.counts
        current_counts = np.array([self.categories.get(c, 0) for c in order], dtype=np.int64)
        reference = CountedColumn(self.plan.reference.rows, self.plan.reference.missing, reference_counts)
        return reference, CountedColumn(self.rows, self.missing, current_counts)
