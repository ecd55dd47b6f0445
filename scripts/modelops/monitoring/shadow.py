"""Shadow against stable on the same requests: how often they decide alike and how far their scores are.

KServe's logger takes a payload's id from the request's `Ce-Id` header and makes a fresh UUID when
there is none (pkg/logger/handler.go, `getOrCreateID`); Envoy's RequestMirror copies the headers.
So a mirrored copy carries stable's id only when the caller sent `Ce-Id`, and most callers do not:
the two logs cannot be joined by id. They are joined by what was scored instead: a hash of the row's
input values. A deterministic model gives one input one score, so each shadow row is compared with
stable's answer to the same input, whatever request brought it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def row_hashes(features: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of its values, column by column (pandas' own row hash)."""
    return pd.util.hash_pandas_object(features, index=False).to_numpy()


@dataclass(frozen=True)
class ShadowComparison:
    shadow_rows: int
    matched_rows: int  # shadow rows whose input stable also scored in the window
    agreement: float  # share of matched rows decided alike at the decision threshold (NaN: none)
    divergence: float  # mean |shadow score - stable score| over matched rows (NaN: none)


class ShadowJoin:
    """Collects the shadow release's rows first (it sees a share of stable's traffic, so it is the
    smaller side), then looks up stable's answers to the same inputs batch by batch."""

    def __init__(self, *, threshold: float) -> None:
        self.threshold = threshold
        self._hashes: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        self._keys = np.zeros(0, dtype=np.uint64)
        self._stable = np.zeros(0)

    def add_shadow(self, hashes: np.ndarray, scores: np.ndarray) -> None:
        self._hashes.append(hashes)
        self._scores.append(scores)

    def shadow_done(self) -> None:
        self._keys = np.unique(np.concatenate(self._hashes)) if self._hashes else self._keys
        self._stable = np.full(self._keys.size, np.nan)

    def add_stable(self, hashes: np.ndarray, scores: np.ndarray) -> None:
        if not self._keys.size:
            return
        at = np.clip(np.searchsorted(self._keys, hashes), 0, self._keys.size - 1)
        found = self._keys[at] == hashes
        self._stable[at[found]] = scores[found]

    def result(self) -> ShadowComparison:
        hashes = np.concatenate(self._hashes) if self._hashes else np.zeros(0, dtype=np.uint64)
        shadow = np.concatenate(self._scores) if self._scores else np.zeros(0)
        stable = self._stable[np.searchsorted(self._keys, hashes)] if hashes.size else np.zeros(0)
        matched = ~np.isnan(stable)
        if not matched.any():
            return ShadowComparison(shadow.size, 0, float("nan"), float("nan"))
        alike = (shadow[matched] >= self.threshold) == (stable[matched] >= self.threshold)
        return ShadowComparison(
            shadow_rows=shadow.size,
            matched_rows=int(matched.sum()),
            agreement=float(alike.mean()),
            divergence=float(np.abs(shadow[matched] - stable[matched]).mean()),
        )
