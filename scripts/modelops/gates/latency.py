"""Latency gate: single-row prediction p95 against the environment's SLA."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from modelops.config.environment import LatencyPolicy
from modelops.gates.result import GateResult, fmt


def check_latency(latencies_ms: Sequence[float], *, policy: LatencyPolicy) -> GateResult:
    values = np.asarray(latencies_ms, dtype=float)
    if values.size == 0:
        return GateResult("latency", False, ("no prediction was timed",))
    p50, p95 = (float(v) for v in np.percentile(values, [50, 95]))
    reasons = (
        ()
        if p95 <= policy.p95_ms
        else (f"p95 latency {fmt(p95, 1)} ms exceeds the SLA {fmt(policy.p95_ms, 1)} ms",)
    )
    return GateResult(
        "latency",
        not reasons,
        reasons,
        {"requests": int(values.size), "p50_ms": p50, "p95_ms": p95, "sla_p95_ms": policy.p95_ms},
    )
