"""Latency gate: the p95 of single-row requests to the candidate on the platform's model server,
read from the server's own request-duration histogram, against the environment's SLA: the series,
buckets and interpolation the live `ModelLatencyP95High` alert reads (modelops.serving.latency)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from modelops.config.environment import LatencyPolicy
from modelops.gates.result import GateResult, fmt


@dataclass(frozen=True)
class LatencyMeasurement:
    requests: int  # observations in the histogram after warm-up
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failed: int  # requests answered other than 200
    method: str = "MLServer rest_server_request_duration_seconds, histogram_quantile"


def meets_sla(measured: LatencyMeasurement, policy: LatencyPolicy) -> bool:
    return not measured.failed and measured.requests > 0 and measured.p95_ms <= policy.p95_ms


def check_latency(batches: Sequence[LatencyMeasurement], *, policy: LatencyPolicy) -> GateResult:
    """Judged on the batch with the lowest p95 (the others were slowed by a shared runner's load): a
    model that meets the SLA once on an idle core can; one that never does, cannot. A failed request
    in any batch fails the gate."""
    if not batches:
        return GateResult("latency", False, ("no request was timed",))
    measured = min(batches, key=lambda b: (math.isnan(b.p95_ms), b.p95_ms))
    failed = sum(b.failed for b in batches)
    reasons = []
    if failed:
        reasons.append(f"{failed} of the timed requests failed on the model server")
    if measured.requests == 0 or math.isnan(measured.p95_ms):
        reasons.append("no request was timed")
    elif measured.p95_ms > policy.p95_ms:
        reasons.append(f"p95 latency {fmt(measured.p95_ms, 1)} ms exceeds the SLA {fmt(policy.p95_ms, 1)} ms")
    return GateResult(
        "latency",
        not reasons,
        tuple(reasons),
        {
            "requests": measured.requests,
            "p50_ms": measured.p50_ms,
            "p95_ms": measured.p95_ms,
            "p99_ms": measured.p99_ms,
            "failed": failed,
            "batches_p95_ms": [b.p95_ms for b in batches],
            "method": measured.method,
            "sla_p95_ms": policy.p95_ms,
        },
    )
