"""MLServer's request-duration histogram, read from its /metrics page, and quantiles of it computed
as Prometheus' `histogram_quantile` computes them: the latency gate reads the same series, the same
buckets and the same interpolation as the live `ModelLatencyP95High` alert.

MLServer's REST metrics are starlette_exporter's: `rest_server_request_duration_seconds`, labelled
`app_name, method, path, status_code`, `path` being the route's template
(`/v2/models/{model_name}/infer`), not the model's name.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

DURATION = "rest_server_request_duration_seconds"
INFER_PATH = "/v2/models/{model_name}/infer"


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound, ascending, the last bound +Inf (Prometheus' classic buckets)."""

    buckets: tuple[tuple[float, float], ...]

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    def minus(self, earlier: Histogram) -> Histogram:
        """The observations made since `earlier` (a scrape of the same series before)."""
        before = dict(earlier.buckets)
        return Histogram(tuple((bound, count - before.get(bound, 0.0)) for bound, count in self.buckets))


def request_durations(
    metrics_text: str, *, path: str = INFER_PATH, method: str = "POST", status_code: str = "200"
) -> Histogram:
    """The request-duration histogram of one route, summed over any other labels (as `sum by (le)`)."""
    counts: dict[float, float] = defaultdict(float)
    for family in text_string_to_metric_families(metrics_text):
        if family.name != DURATION:
            continue
        for sample in family.samples:
            labels: Mapping[str, str] = sample.labels
            if (
                sample.name == f"{DURATION}_bucket"
                and labels.get("path") == path
                and labels.get("method") == method
                and labels.get("status_code") == status_code
            ):
                counts[float(labels["le"])] += sample.value
    return Histogram(tuple(sorted(counts.items())))


def quantile(q: float, histogram: Histogram) -> float:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket the rank falls in; a rank
    in the +Inf bucket answers the highest finite bound; no observations answer NaN."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    buckets = histogram.buckets
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]) or histogram.count == 0:
        return math.nan
    rank = q * histogram.count
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if index == len(buckets) - 1:
        return buckets[-2][0]
    bound, count = buckets[index]
    if index == 0 and bound <= 0:
        return bound
    start, below = (0.0, 0.0) if index == 0 else buckets[index - 1]
    if count == below:
        return bound
    return start + (bound - start) * (rank - below) / (count - below)
