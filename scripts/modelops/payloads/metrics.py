"""The sink's Prometheus metrics, in a registry of its own (served on /metrics).

No label takes a value from a request: a pod could otherwise grow the series without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class SinkMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events = Counter(
            "payload_sink_events",
            "Logged events received, by kind (request, response) and outcome "
            "(paired, pending, duplicate, conflict, refused).",
            ["kind", "outcome"],
            registry=r,
        )
        self.refused = Counter(
            "payload_sink_refused_requests",
            "HTTP requests refused, by reason (path, unauthorized, length, too_large, event, tensor, "
            "service, conflict, poisoned, rows, busy, connections, head).",
            ["reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "payload_sink_duplicates",
            "Redelivered events dropped (same scope, type, id and body).",
            registry=r,
        )
        self.evicted = Counter(
            "payload_sink_evicted",
            "Unmatched events dropped: over the pending bounds, waiting too long, or held at shutdown.",
            registry=r,
        )
        self.rows_written = Counter("payload_sink_rows_written", "Rows written to the store.", registry=r)
        self.files_written = Counter("payload_sink_files_written", "Parquet files written.", registry=r)
        self.flush_failures = Counter(
            "payload_sink_flush_failures", "Writes that failed; their rows are kept and retried.", registry=r
        )
        self.flush_seconds = Histogram(
            "payload_sink_flush_duration_seconds",
            "Time to write everything held.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.pending = Gauge("payload_sink_pending_events", "Events waiting for their pair.", registry=r)
        self.buffered_rows = Gauge("payload_sink_buffered_rows", "Joined rows not yet written.", registry=r)
        self._children: dict[tuple[object, ...], Counter] = {}

    def event(self, kind: str, outcome: str) -> Counter:
        return self._child(self.events, kind, outcome)

    def refusal(self, reason: str) -> Counter:
        return self._child(self.refused, reason)

    def _child(self, counter: Counter, *labels: str) -> Counter:
        # `labels()` looks the child up under a lock on every call; the set of label values is fixed.
        key = (id(counter), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        return child
