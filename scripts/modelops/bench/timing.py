"""Timing records shared by both sides, so the report can tell measured figures from scaled ones."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def timing(decision: str, measured_s: float, *, scaled_s: float | None = None, basis: str) -> dict[str, Any]:
    """One decision's wall time. `scaled_s` differs from `measured_s` only when the decision ran on
    less work than the gate did (fewer rows or resamples) and was extrapolated linearly; `basis`
    says what ran and how it was scaled."""
    scaled = measured_s if scaled_s is None else scaled_s
    return {"decision": decision, "measured_s": measured_s, "scaled_s": scaled, "basis": basis}
