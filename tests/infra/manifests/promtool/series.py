"""What model servers and the drift job expose, as Prometheus would store it after scraping.

Names and labels follow MLServer (starlette_exporter with the prefix `rest_server`, histogram
buckets of prometheus_client's defaults) plus the target labels the PodMonitor gives every
series: prometheus-operator's `job="<namespace>/<podmonitor>"`, `namespace`, `pod`, `container`,
`instance`, and the `model` and `release` relabelled from the pod's labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelops.serving.histogram import Histogram, quantile
from modelops_infra.settings import Settings

MODEL = "credit-risk"
INFER_PATH = f"/v2/models/{MODEL}/infer"
REQUESTS = "rest_server_requests_total"
LATENCY = "rest_server_request_duration_seconds"
DRIFT = "modelops_drift_score"
DRIFT_DETECTED = "modelops_drift_detected"
# prometheus_client's default histogram buckets, which MLServer does not override.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf)
QUANTILE = 0.95


@dataclass(frozen=True)
class Slo:
    """The thresholds one environment file sets, in the units the alerts compare."""

    error_rate: float
    p95_seconds: float
    drift: float

    @classmethod
    def of(cls, settings: Settings) -> Slo:
        promotion = settings.environment.promotion
        return cls(
            error_rate=settings.platform.monitoring.slo.error_rate,
            p95_seconds=promotion.latency.p95_ms / 1000,
            drift=promotion.drift.distance_threshold,
        )


@dataclass(frozen=True)
class Target:
    """Where a stack's model-server series come from: the PodMonitor it declares."""

    job: str
    namespace: str

    def pod(self, release: str, index: int) -> dict[str, str]:
        """The target labels of one predictor pod of `release`."""
        name = MODEL if release == "stable" else f"{MODEL}-{release}"
        return {
            "container": "kserve-container",
            "instance": f"10.42.{index}.{17 if release == 'stable' else 23}:8082",
            "job": self.job,
            "namespace": self.namespace,
            "pod": f"{name}-predictor-7d9c5b6f48-{'xk2lq' if index == 0 else 'p8vzn'}",
            "model": MODEL,
            "release": release,
        }


def requests(pod: dict[str, str], status_code: int, *, path: str = INFER_PATH) -> dict[str, str]:
    method = "POST" if path.endswith("/infer") else "GET"
    code = str(status_code)
    return {
        "__name__": REQUESTS,
        "app_name": "mlserver",
        "method": method,
        "path": path,
        "status_code": code,
        **pod,
    }


def bucket(pod: dict[str, str], le: float) -> dict[str, str]:
    bound = "+Inf" if math.isinf(le) else repr(le)
    labels = {"app_name": "mlserver", "method": "POST", "path": INFER_PATH, "status_code": "200"}
    return {"__name__": f"{LATENCY}_bucket", **labels, **pod, "le": bound}


def drift(release: str, column: str, *, name: str = DRIFT) -> dict[str, str]:
    # Pushed by the drift job (honor_labels): its own labels, no pod's.
    return {"__name__": name, "job": "modelops-drift", "model": MODEL, "release": release, "column": column}


def latency_histogram(p95: float, per_minute: int) -> list[int]:
    """Cumulative bucket counts (aligned with BUCKETS) of `per_minute` requests whose p95 is ~`p95`.

    Requests split between the bucket below the one holding `p95`, that bucket and the one
    above, so that Prometheus's linear interpolation inside the bucket lands on `p95`.
    """
    i = next(i for i, le in enumerate(BUCKETS) if p95 <= le)
    if i == 0 or math.isinf(BUCKETS[i]):
        raise ValueError(f"p95 {p95}s is outside the buckets a histogram can place it in")
    low, high = BUCKETS[i - 1], BUCKETS[i]
    share = (p95 - low) / (high - low)  # where in its bucket p95 lies: (q - below) / inside
    if share <= 0.9:
        above = 0.03
        below = (QUANTILE - (1 - above) * share) / (1 - share)
    else:  # near the bucket's top the quantile needs a fatter tail above it
        below = 0.5
        above = below - (QUANTILE - below) / share
    n_below, n_above = round(below * per_minute), round(above * per_minute)
    counts = []
    for j in range(len(BUCKETS)):
        if j < i - 1:
            counts.append(0)
        elif j == i - 1:
            counts.append(n_below)
        elif j == i:
            counts.append(per_minute - n_above)
        else:
            counts.append(per_minute)
    return counts


def histogram_quantile(q: float, cumulative: list[int]) -> float:
    """What Prometheus's histogram_quantile answers over these classic buckets: the latency gate's own
    interpolation (modelops.serving.histogram), which a test holds to a real Prometheus's answer."""
    return quantile(q, Histogram(tuple(zip(BUCKETS, (float(c) for c in cumulative), strict=True))))


def just_over(threshold: float, total: int) -> int:
    """The fewest of `total` whose share exceeds `threshold`."""
    count = math.floor(threshold * total)
    while count / total <= threshold:
        count += 1
    return count


def just_under(threshold: float, total: int) -> int:
    """The most of `total` whose share stays below `threshold`."""
    count = math.ceil(threshold * total)
    while count / total >= threshold:
        count -= 1
    return count
