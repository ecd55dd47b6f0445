"""What one release used over the window, as read from Prometheus: the recommender's whole input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Resources:
    """A model container's requests and limits, in cores and bytes."""

    cpu_request: float
    cpu_limit: float
    memory_request: float
    memory_limit: float


@dataclass(frozen=True, kw_only=True)
class Usage:
    """One release's predictor pods over the window. None: Prometheus holds no such samples."""

    # CPU in cores: each pod's percentile of its per-resolution usage, the highest pod's (krr).
    cpu_percentile: float | None = None
    cpu_peak: float | None = None  # the highest per-resolution rate of any pod
    memory_peak: float | None = None  # bytes: the highest working set any pod reached
    cpu_samples: int = 0  # raw CPU samples (scrapes) in the window, over all pods
    memory_samples: int = 0
    # Days with usage samples (hours with a CPU sample / 24): VPA's confidence, which a release that
    # was down, new or renamed has less of than the window is long.
    history_days: float = 0.0
    throttled_share: float | None = None  # throttled CFS periods / all periods over the window
    oom_killed: bool = False  # a container's last termination was an OOM kill within the window
    restarts: float = 0.0
    pods: int = 0
    latency_p95_ms: float | None = None  # p95 of every request over the window (MLServer's histogram)

    @property
    def has_usage(self) -> bool:
        return self.cpu_percentile is not None and self.memory_peak is not None
