"""Reading releases' usage from Prometheus: the queries of `queries`, sent with bounded timeouts and
retries, answered as one `Usage` per (model, release)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from modelops.config.rightsizing import RightsizingPolicy
from modelops.errors import InputError
from modelops.rightsizing import queries
from modelops.rightsizing.usage import Usage
from modelops.serving import contract
from modelops.serving.contract import CANDIDATE, STABLE

TIMEOUT_S = 30  # per request; weeks of series for a hundred models answer in about a second
RETRIES = 2  # connection errors and 5xx/429 answers are retried, with backoff

Release = tuple[str, str]  # (model, STABLE or CANDIDATE)
Query = Callable[..., list[dict[str, Any]]]  # (promql, *, at) -> result rows


def connect(url: str) -> Query:
    """A function sending one instant query to Prometheus at `url` at the given time, with bounded
    timeouts and retries; any failure is an InputError naming the URL."""
    from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
    from requests import RequestException
    from urllib3.util.retry import Retry

    retry = Retry(
        total=RETRIES, backoff_factor=0.5, status_forcelist=(429, 502, 503, 504), allowed_methods=None
    )
    client = PrometheusConnect(url=url.rstrip("/"), retry=retry, timeout=TIMEOUT_S)

    def query(promql: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        params = {} if at is None else {"time": f"{at.timestamp():.3f}"}
        try:
            return list(client.custom_query(promql, params=params))
        except (RequestException, PrometheusApiClientException, ValueError) as error:
            first = str(error).splitlines()[0][:300]
            raise InputError(f"Prometheus at {url}: {first}") from None

    return query


def _values(
    rows: list[dict[str, Any]], *, by: Callable[[dict[str, str]], Release | None]
) -> dict[Release, float]:
    found = {}
    for row in rows:
        key = by(row.get("metric", {}))
        value = float(row["value"][1])
        if key is not None and not math.isnan(value):
            found[key] = value
    return found


def _by_isvc(labels: dict[str, str]) -> Release | None:
    return contract.release_of(labels[queries.ISVC]) if queries.ISVC in labels else None


def _by_model_release(labels: dict[str, str]) -> Release | None:
    release = labels.get("release")
    return (labels["model"], release) if "model" in labels and release in (STABLE, CANDIDATE) else None


def read_usage(
    query: Query,
    *,
    namespace: str,
    models: Sequence[str],
    window: str,
    policy: RightsizingPolicy,
    at: datetime,
) -> dict[Release, Usage]:
    """Usage of every release of `models` in `namespace` over the `window` ending `at`; a release with
    no samples at all is absent."""
    bad = [m for m in models if not queries.is_model_name(m)]
    if bad:
        raise InputError(f"model {bad[0]!r}: not a model name (lowercase letters, digits and '-')")
    resolution = policy.resolution
    asked = {
        "cpu_percentile": queries.cpu_percentile(
            namespace, models, percentile=policy.cpu_percentile, window=window, resolution=resolution
        ),
        "cpu_peak": queries.cpu_peak(namespace, models, window=window, resolution=resolution),
        "cpu_samples": queries.cpu_samples(namespace, models, window=window),
        "history_hours": queries.history_hours(namespace, models, window=window),
        "memory_peak": queries.memory_peak(namespace, models, window=window),
        "memory_samples": queries.memory_samples(namespace, models, window=window),
        "throttled_share": queries.throttled_share(namespace, models, window=window),
        "oom_killed": queries.oom_killed(namespace, models, window=window),
        "restarts": queries.restarts(namespace, models, window=window),
        "pods": queries.pods(namespace, models, window=window),
    }
    latency = queries.latency_p95(namespace, models, window=window)
    # Prometheus evaluates independent queries in parallel; a handful of threads keeps it busy.
    with ThreadPoolExecutor(max_workers=4) as pool:
        pending = {name: pool.submit(query, promql, at=at) for name, promql in asked.items()}
        latency_rows = pool.submit(query, latency, at=at)
        answers = {name: _values(future.result(), by=_by_isvc) for name, future in pending.items()}
        latencies = _values(latency_rows.result(), by=_by_model_release)
    wanted = set(models)
    releases = {key for values in answers.values() for key in values if key[0] in wanted}
    return {
        release: Usage(
            cpu_percentile=answers["cpu_percentile"].get(release),
            cpu_peak=answers["cpu_peak"].get(release),
            memory_peak=answers["memory_peak"].get(release),
            cpu_samples=int(answers["cpu_samples"].get(release, 0)),
            memory_samples=int(answers["memory_samples"].get(release, 0)),
            history_days=answers["history_hours"].get(release, 0) / 24,
            throttled_share=answers["throttled_share"].get(release),
            oom_killed=answers["oom_killed"].get(release, 0) > 0,
            restarts=answers["restarts"].get(release, 0.0),
            pods=int(answers["pods"].get(release, 0)),
            latency_p95_ms=latencies[release] * 1000 if release in latencies else None,
        )
        for release in sorted(releases)
    }
