"""What Prometheus measured for each rollout's window: the I/O behind the canary verdict.

Two ways to ask, giving the same figures (a test holds them equal):
- batched (the default): per metric, one query for every rollout whose window has the same length
  and one range query for all their sample intervals, grouped `by (model, release)`;
- one rollout at a time: per rollout and metric, a query selecting that model (the obvious way; the
  benchmark sets the two side by side).

Windows share one grid: every start and end is a multiple of the sample interval, so the
windows of rollouts analysed together line up and their series come from one range query.
Only series labelled `release="stable"` or `release="candidate"` of the named models, in the
environment's models namespace, are read; anything else Prometheus holds is ignored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from modelops.errors import InputError
from modelops.observability import promql
from modelops.rollouts.analysis import ReleaseMeasures, Window

ROLES = ("stable", "candidate")
TIMEOUT_S = 10
RETRIES = 3
BACKOFF_S = 0.5


class PrometheusApi(Protocol):
    """What the measuring needs of Prometheus: an instant query and a range query."""

    def instant(self, query: str, *, at: float) -> list[dict[str, Any]]: ...

    def series(self, query: str, *, start: float, end: float, step_s: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Prometheus:
    """Prometheus' HTTP API through prometheus-api-client: bounded timeout, retried on 5xx and resets."""

    url: str
    timeout_s: float = TIMEOUT_S
    retries: int = RETRIES
    _client: Any = field(default=None, compare=False, repr=False)

    def client(self) -> Any:
        if self._client is None:
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            retry = Retry(
                total=self.retries,
                backoff_factor=BACKOFF_S,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=("GET",),
            )
            object.__setattr__(
                self, "_client", PrometheusConnect(self.url, retry=retry, timeout=self.timeout_s)
            )
        return self._client

    def _call(self, what: str, call: Any) -> list[dict[str, Any]]:
        import requests
        from prometheus_api_client import PrometheusApiClientException

        try:
            result = call()
        except (requests.RequestException, PrometheusApiClientException) as error:
            first = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
            raise InputError(f"Prometheus {self.url}: {what} failed: {first}") from None
        if not isinstance(result, list):
            raise InputError(f"Prometheus {self.url}: {what} answered no vector or matrix")
        return result

    def instant(self, query: str, *, at: float) -> list[dict[str, Any]]:
        return self._call("query", lambda: self.client().custom_query(query, params={"time": f"{at:.3f}"}))

    def series(self, query: str, *, start: float, end: float, step_s: int) -> list[dict[str, Any]]:
        return self._call(
            "range query",
            lambda: self.client().custom_query_range(
                query,
                start_time=datetime.fromtimestamp(start, UTC),
                end_time=datetime.fromtimestamp(end, UTC),
                step=f"{step_s}s",
            ),
        )


def _number(text: Any) -> float:
    """A sample's value; anything that is not a number reads as NaN (not measured)."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _key(row: Mapping[str, Any], models: Iterable[str]) -> tuple[str, str] | None:
    labels = row.get("metric", {})
    model, role = labels.get("model"), labels.get("release")
    if model not in set(models) or role not in ROLES:
        return None
    return model, role


def _instant_by_release(rows: list[dict[str, Any]], models: Sequence[str]) -> dict[tuple[str, str], float]:
    values: dict[tuple[str, str], float] = {}
    for row in rows:
        if (key := _key(row, models)) is not None:
            # Two series for one release (should `by` ever be dropped) are not one figure: unusable.
            values[key] = math.nan if key in values else _number(row.get("value", (0, None))[1])
    return values


def _points_by_release(
    rows: list[dict[str, Any]], models: Sequence[str]
) -> dict[tuple[str, str], dict[int, float]]:
    points: dict[tuple[str, str], dict[int, float]] = {}
    for row in rows:
        if (key := _key(row, models)) is not None:
            if key in points:
                points[key] = {}  # ambiguous: never judged
                continue
            points[key] = {round(float(t)): _number(v) for t, v in row.get("values", [])}
    return points


@dataclass(frozen=True)
class Planned:
    """One rollout to measure: its model and window."""

    model: str
    window: Window


def _per_interval(
    served: Mapping[int, float],
    failed: Mapping[int, float],
    p95: Mapping[int, float],
    window: Window,
    interval: int,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(p95, error ratio) for each interval in which the release answered at least one request."""
    latency, errors = [], []
    for t in sorted(served):
        if not (window.start + interval <= t <= window.end):
            continue
        count = served[t]
        if not (math.isfinite(count) and count > 0):  # an idle interval is no evidence either way
            continue
        latency.append(p95.get(t, math.nan))
        errors.append(failed.get(t, 0.0) / count if math.isfinite(failed.get(t, 0.0)) else math.nan)
    return tuple(latency), tuple(errors)


def _selector(namespace: str, models: Sequence[str]) -> str:
    return ", ".join(
        (
            promql.label_matcher("namespace", namespace),
            promql.label_in("model", models),
            'release=~"stable|candidate"',
        )
    )


def _monitor_selector(models: Sequence[str]) -> str:
    # The monitor pushes through the Pushgateway: its series carry no models namespace.
    return ", ".join((promql.label_in("model", models), 'release=~"stable|candidate"'))


def _measure_group(
    prometheus: PrometheusApi, planned: Sequence[Planned], *, namespace: str, interval: int
) -> dict[str, dict[str, ReleaseMeasures]]:
    """Every figure for rollouts analysed together (one window length, one end)."""
    models = [p.model for p in planned]
    by_length: dict[tuple[float, float], list[Planned]] = defaultdict(list)
    for p in planned:
        by_length[(p.window.seconds, p.window.end)].append(p)
    instant: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for (seconds, end), group in by_length.items():
        if seconds <= 0:
            continue
        names = [p.model for p in group]
        selector = _selector(namespace, names)
        window = f"{int(seconds)}s"
        queries = {
            "requests": promql.requests_served(window, selector=selector),
            "failed": promql.requests_failed(window, selector=selector),
            "p95": promql.latency_quantile(0.95, window, selector=selector),
            "p99": promql.latency_quantile(0.99, window, selector=selector),
        }
        for name, query in queries.items():
            instant[name].update(_instant_by_release(prometheus.instant(query, at=end), names))
    opened = [p for p in planned if p.window.seconds > 0]
    ranged: dict[str, dict[tuple[str, str], dict[int, float]]] = {}
    if opened:
        start = min(p.window.start for p in opened)
        end = max(p.window.end for p in opened)
        names = [p.model for p in opened]
        selector = _selector(namespace, names)
        step = f"{interval}s"
        queries = {
            "served": promql.requests_served(step, selector=selector),
            "failed": promql.requests_failed(step, selector=selector),
            "p95": promql.latency_quantile(0.95, step, selector=selector),
        }
        for name, query in queries.items():
            rows = prometheus.series(query, start=start + interval, end=end, step_s=interval)
            ranged[name] = _points_by_release(rows, names)
    at = max(p.window.end for p in planned)
    monitor = _monitor_selector(models)
    drift = _instant_by_release(prometheus.instant(promql.worst_drift(selector=monitor), at=at), models)
    live: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for row in prometheus.instant(promql.live_metric(selector=monitor), at=at):
        if (key := _key(row, models)) is not None and (metric := row["metric"].get("metric")):
            live[key][metric] = _number(row.get("value", (0, None))[1])

    measured: dict[str, dict[str, ReleaseMeasures]] = {}
    for p in planned:
        releases = {}
        for role in ROLES:
            key = (p.model, role)
            latency, errors = _per_interval(
                ranged.get("served", {}).get(key, {}),
                ranged.get("failed", {}).get(key, {}),
                ranged.get("p95", {}).get(key, {}),
                p.window,
                interval,
            )
            releases[role] = ReleaseMeasures(
                # No series at all for a release is zero requests only when the window opened.
                requests=instant["requests"].get(key, math.nan),
                failed=instant["failed"].get(key, 0.0 if key in instant["requests"] else math.nan),
                p95_seconds=instant["p95"].get(key, math.nan),
                p99_seconds=instant["p99"].get(key, math.nan),
                p95_per_interval=latency,
                error_ratio_per_interval=errors,
                worst_drift=drift.get(key),
                live_metrics=dict(live.get(key, {})),
            )
        measured[p.model] = releases
    return measured


def measure(
    prometheus: PrometheusApi,
    planned: Sequence[Planned],
    *,
    namespace: str,
    interval: int,
    batched: bool = True,
) -> dict[str, dict[str, ReleaseMeasures]]:
    """{model: {"stable": ..., "candidate": ...}} for each planned rollout's window."""
    if len({p.model for p in planned}) != len(planned):
        raise InputError("one rollout per model and environment: a model was planned twice")
    if not planned:
        return {}
    if batched:
        return _measure_group(prometheus, planned, namespace=namespace, interval=interval)
    measured: dict[str, dict[str, ReleaseMeasures]] = {}
    for p in planned:
        measured.update(_measure_group(prometheus, [p], namespace=namespace, interval=interval))
    return measured
