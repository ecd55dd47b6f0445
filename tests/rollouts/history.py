"""Canary traffic as MLServer and the monitor job would have left it in Prometheus, written for backfill.

A `Serving` is what one release of one model answered from a moment on: requests per second, the
share that failed with a 5xx, and the latency of its requests (most at `latency_s`, a `slow_share`
at `slow_s`). A release's history is a list of them, each taking over at its `since`, so a test can
change what a candidate does between two steps. Counters accumulate across the list, as a pod's do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from modelops.bench.prometheus_history import OpenMetricsWriter

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf)
NAMESPACE = "models-prod"
SCRAPE_S = 15.0


@dataclass(frozen=True)
class Serving:
    since: float
    per_second: float
    error_share: float = 0.0
    latency_s: float = 0.008
    slow_share: float = 0.0
    slow_s: float = 0.3


@dataclass(frozen=True)
class Release:
    model: str
    release: str  # the pod label the PodMonitor copies: stable | candidate (or anything a pod claims)
    history: Sequence[Serving]
    namespace: str = NAMESPACE
    pod: str = "0"

    def labels(self) -> dict[str, str]:
        return {
            "job": "monitoring/model-servers",
            "namespace": self.namespace,
            "pod": f"{self.model}-{self.release}-predictor-{self.pod}",
            "model": self.model,
            "release": self.release,
        }


def _serving_at(history: Sequence[Serving], t: float) -> Serving | None:
    current = None
    for serving in history:
        if serving.since <= t:
            current = serving
    return current


def _cumulative(release: Release, start: float, end: float) -> list[tuple[float, float, float, list[float]]]:
    """(t, ok, failed, bucket counts) at every scrape from `start` to `end`."""
    ok = failed = 0.0
    buckets = [0.0] * len(BUCKETS)
    out = []
    t = start
    while t <= end:
        serving = _serving_at(release.history, t)
        if serving is not None:
            served = serving.per_second * SCRAPE_S
            ok += served * (1 - serving.error_share)
            failed += served * serving.error_share
            for i, le in enumerate(BUCKETS):
                # Only answered requests are timed here (MLServer times failures too; it changes nothing).
                fast = served * (1 - serving.slow_share) if serving.latency_s <= le else 0.0
                slow = served * serving.slow_share if serving.slow_s <= le else 0.0
                buckets[i] += fast + slow
        out.append((t, ok, failed, list(buckets)))
        t += SCRAPE_S
    return out


def write_serving(
    writer: OpenMetricsWriter, releases: Sequence[Release], *, start: float, end: float
) -> None:
    """MLServer's two families for every release, each family's series together (OpenMetrics' order)."""
    tables = {id(r): _cumulative(r, start, end) for r in releases}
    writer.family("rest_server_requests", "counter", "Total HTTP requests")
    for r in releases:
        labels = {**r.labels(), "app_name": "mlserver", "method": "POST", "path": "/v2/models/infer"}
        rows = tables[id(r)]
        writer.series({**labels, "status_code": "200"}, ((t, v) for t, v, _, _ in rows), suffix="_total")
        writer.series({**labels, "status_code": "503"}, ((t, f) for t, _, f, _ in rows), suffix="_total")
    writer.family("rest_server_request_duration_seconds", "histogram", "HTTP request duration, in seconds")
    for r in releases:
        labels = {**r.labels(), "app_name": "mlserver", "method": "POST", "path": "/v2/models/infer"}
        rows = tables[id(r)]
        for i, le in enumerate(BUCKETS):
            bound = "+Inf" if math.isinf(le) else repr(le)
            writer.series({**labels, "le": bound}, ((t, b[i]) for t, _, _, b in rows), suffix="_bucket")


@dataclass(frozen=True)
class Monitored:
    """What the monitor job pushed for one release: its worst column's drift and its live metrics."""

    model: str
    release: str
    drift: float | None = None
    metrics: tuple[tuple[str, float], ...] = ()
    drift_detected: bool = True  # the monitor's verdict on that column (past the threshold and not chance)


def write_monitor(
    writer: OpenMetricsWriter, monitored: Sequence[Monitored], *, start: float, end: float
) -> None:
    times = [start + i * 60.0 for i in range(int((end - start) // 60) + 1)]
    writer.family("modelops_drift_score", "gauge", "Distance of a column")
    for m in monitored:
        if m.drift is not None:
            labels = {"job": "modelops-monitor", "model": m.model, "release": m.release, "column": "amount"}
            writer.series(labels, ((t, m.drift) for t in times))
    writer.family("modelops_drift_detected", "gauge", "1 when the monitor finds the column drifted")
    for m in monitored:
        if m.drift is not None:
            labels = {"job": "modelops-monitor", "model": m.model, "release": m.release, "column": "amount"}
            writer.series(labels, ((t, float(m.drift_detected)) for t in times))
    writer.family("modelops_live_metric", "gauge", "A metric on the window's labelled rows")
    for m in monitored:
        for name, value in m.metrics:
            labels = {"job": "modelops-monitor", "model": m.model, "release": m.release, "metric": name}
            writer.series(labels, ((t, value) for t in times))
