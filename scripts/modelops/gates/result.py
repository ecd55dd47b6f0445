"""The frozen value every gate returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """numpy scalars and NaN made safe for `json.dumps` (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    reasons: tuple[str, ...] = ()
    measured: dict[str, Any] = field(default_factory=dict)
    # False when the gate could not judge (an earlier gate stopped the run): it fails the verdict, but
    # it said nothing about the model, so no later copy of the artifact inherits it (gates.precedent).
    ran: bool = True

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(
            {"gate": self.gate, "passed": self.passed, "reasons": list(self.reasons), **self.measured}
        )


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"
