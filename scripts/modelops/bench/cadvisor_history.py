"""Synthetic cAdvisor, kube-state-metrics and MLServer histories with known answers, for the
backfilled Prometheus (prometheus_history). Shared by the rightsizing tests and its benchmark."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from modelops.bench.prometheus_history import OpenMetricsWriter

MIB = 1024**2
DAY = 86_400
CONTAINER = "kserve-container"
# MLServer's histogram buckets (seconds) in these histories.
BUCKETS = (0.01, 0.02, 0.03, 0.04, 0.05)


def _constant(value: float) -> Callable[[int], float]:
    return lambda _step: value


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    days: float
    cpu: Callable[[int], float]  # cores in step i (i = 0 is the oldest)
    memory: Callable[[int], float]  # bytes at step i
    container: str = CONTAINER
    throttled_share: float = 0.0
    oom_killed: bool = False
    nan_at: tuple[int, ...] = ()  # steps whose CPU counter and memory are NaN
    gone_days: float = 0.0  # the pod's last sample is this long before the history's end


@dataclass(frozen=True)
class Latency:
    """All of a release's requests land in the bucket ending at BUCKETS[bucket]."""

    namespace: str
    model: str
    release: str
    bucket: int
    days: float
    per_step: float = 50.0

    @property
    def p95_ms(self) -> float:
        """What histogram_quantile answers: linear within the bucket."""
        low = BUCKETS[self.bucket - 1] if self.bucket else 0.0
        return (low + 0.95 * (BUCKETS[self.bucket] - low)) * 1000


@dataclass
class History:
    end: float
    every_s: float = 120.0  # CPU: a rate over the policy's resolution needs two samples in it
    # Memory is read as the peak of its raw samples, CFS periods, kube-state-metrics and MLServer's
    # histogram as increases over the whole window: sparser samples answer the same and write
    # faster (None: every_s).
    sparse_every_s: float | None = None
    pods: list[Pod] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)

    def _steps(
        self, days: float, every: float | None = None, *, gone: float = 0.0
    ) -> Iterable[tuple[int, float]]:
        every = every or self.every_s
        count = int(days * DAY / every)
        start = self.end - gone * DAY - count * every
        return ((i, start + i * every) for i in range(1, count + 1))

    def _labels(self, pod: Pod) -> dict[str, str]:
        return {"namespace": pod.namespace, "pod": pod.name, "container": pod.container}

    def write(self, writer: OpenMetricsWriter) -> None:
        every, sparse = self.every_s, self.sparse_every_s or self.every_s

        def counter(
            pod: Pod, per_second: Callable[[int], float], *, spacing: float, gaps: tuple[int, ...] = ()
        ) -> Iterable[tuple[float, float]]:
            total = 0.0
            for i, at in self._steps(pod.days, spacing, gone=pod.gone_days):
                total += per_second(i) * spacing
                yield at, math.nan if i in gaps else total

        writer.family("container_cpu_usage_seconds", "counter", "cAdvisor CPU")
        for pod in self.pods:
            cpu = counter(pod, pod.cpu, spacing=every, gaps=pod.nan_at)
            writer.series(self._labels(pod), cpu, suffix="_total")
        writer.family("container_memory_working_set_bytes", "gauge", "cAdvisor working set")
        for pod in self.pods:
            steps = self._steps(pod.days, sparse, gone=pod.gone_days)
            points = ((at, math.nan if i in pod.nan_at else pod.memory(i)) for i, at in steps)
            writer.series(self._labels(pod), points)
        periods_per_second = 10.0  # CFS periods of 100 ms
        writer.family("container_cpu_cfs_periods", "counter", "cAdvisor CFS periods")
        for pod in self.pods:
            periods = counter(pod, lambda i: periods_per_second, spacing=sparse)
            writer.series(self._labels(pod), periods, suffix="_total")
        writer.family("container_cpu_cfs_throttled_periods", "counter", "cAdvisor throttled periods")
        for pod in self.pods:
            throttled = counter(pod, _constant(periods_per_second * pod.throttled_share), spacing=sparse)
            writer.series(self._labels(pod), throttled, suffix="_total")
        writer.family("kube_pod_container_status_last_terminated_reason", "gauge", "kube-state-metrics")
        for pod in self.pods:
            if pod.oom_killed:
                points = ((at, 1.0) for _, at in self._steps(pod.days, sparse, gone=pod.gone_days))
                writer.series({**self._labels(pod), "reason": "OOMKilled"}, points)
        writer.family("rest_server_request_duration_seconds", "histogram", "MLServer request duration")
        for latency in self.latencies:
            labels = {"namespace": latency.namespace, "model": latency.model, "release": latency.release}
            for index, le in enumerate((*BUCKETS, math.inf)):
                filled = latency.per_step if index >= latency.bucket else 0.0
                points = ((at, i * filled) for i, at in self._steps(latency.days, sparse))
                bound = "+Inf" if le == math.inf else repr(le)
                writer.series({**labels, "le": bound}, points, suffix="_bucket")
