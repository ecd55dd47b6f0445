"""`python -m modelops.bench.rightsizing --models 100 --days 30`: rightsizing a hundred models against a
month of cAdvisor history, computed inside Prometheus against the obvious way.

A month of synthetic history (each model's predictor pod with a daily CPU cycle and its own level,
a memory working set with a daily swell, CFS counters, MLServer's latency histogram) is written as
OpenMetrics and backfilled into a real Prometheus (prometheus_history). CPU and memory are sampled
every --every seconds, the counters read only as increases over the window every hour. Then, against
that one server, in one run and in turn:

- promql, all models: `read_usage` for every model at once (the percentile by `quantile_over_time`
  over a subquery, the peaks by `max_over_time`: Prometheus returns one number per release), then
  `recommend` for each model. This is what the target (100 models in under 10 s) is about.
- promql, per model: the same, one model at a time (what a hundred `modelops rightsize` runs query).
- raw samples: the obvious way, per model: `query_range` of each pod's CPU rate over the window at
  the policy's resolution and every raw memory sample (a range-vector query), percentile and peak in
  numpy, the other figures by the same instant queries; then `recommend`.

Each side runs --repeat times and its fastest run is reported; the recommendations of every side
must agree (exit 1 if not). Figures are reported, not asserted.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from modelops.bench.cadvisor_history import MIB, History, Latency, Pod
from modelops.bench.prometheus_history import history

NAMESPACE = "models-bench"
POD_HASH = "5d8f9c7b4-x2x4z"
DAY = 86_400


def _history(models: list[str], *, days: float, end: float, every: float) -> History:
    pods, latencies = [], []
    for index, model in enumerate(models):
        level = 0.05 + 0.01 * (index % 20)  # cores: each model its own level
        swell = (200 + 10 * (index % 30)) * MIB

        def cpu(i: int, level: float = level) -> float:
            return level * (1.0 + 0.5 * math.sin(2 * math.pi * i * every / DAY))

        def memory(i: int, swell: float = swell) -> float:
            return swell * (1.0 + 0.2 * math.sin(2 * math.pi * i * every / DAY))

        pods.append(Pod(NAMESPACE, f"{model}-predictor-{POD_HASH}", days, cpu, memory))
        latencies.append(Latency(NAMESPACE, model, "stable", 1, days))
    return History(end=end, every_s=every, sparse_every_s=600.0, pods=pods, latencies=latencies)


def _promql_side(
    query: Any, models: list[str], *, window: str, policy: Any, at: datetime, batched: bool
) -> dict:
    from modelops.rightsizing.prometheus import read_usage

    usage: dict[tuple[str, str], Any] = {}
    for group in [models] if batched else [[m] for m in models]:
        usage |= read_usage(query, namespace=NAMESPACE, models=group, window=window, policy=policy, at=at)
    return usage


def _raw_side(url: str, query: Any, models: list[str], *, window: str, policy: Any, at: datetime) -> dict:
    import numpy as np
    from prometheus_api_client import PrometheusConnect

    from modelops.config.rightsizing import duration_seconds
    from modelops.rightsizing import queries
    from modelops.rightsizing.usage import Usage
    from modelops.serving.contract import CANDIDATE_SUFFIX

    client = PrometheusConnect(url=url, timeout=120)
    start = at - timedelta(seconds=duration_seconds(window))

    def instant(promql: str) -> float | None:
        # The figures both sides read alike (throttling, kills, restarts, pods, hours, latency).
        rows = [
            r
            for r in query(promql, at=at)
            if not r["metric"].get(queries.ISVC, "").endswith(CANDIDATE_SUFFIX)
        ]
        values = [float(r["value"][1]) for r in rows if r["metric"].get("release", "stable") == "stable"]
        return values[0] if values and not math.isnan(values[0]) else None

    usage: dict[tuple[str, str], Usage] = {}
    for model in models:
        select = queries.selector(NAMESPACE, [model])
        cpu_rows = client.custom_query_range(
            f"rate({queries.CPU}{select}[{policy.resolution}])",
            start_time=start,
            end_time=at,
            step=policy.resolution,
        )
        per_series = [np.array([float(v) for _, v in row["values"]]) for row in cpu_rows]
        per_series = [values[~np.isnan(values)] for values in per_series]
        memory_rows = client.custom_query(
            f"{queries.MEMORY}{select}[{window}]", params={"time": at.timestamp()}
        )
        memory = [np.array([float(v) for _, v in row["values"]]) for row in memory_rows]
        memory = [values[~np.isnan(values)] for values in memory]
        throttled = instant(queries.throttled_share(NAMESPACE, [model], window=window))
        latency = instant(queries.latency_p95(NAMESPACE, [model], window=window))
        usage[(model, "stable")] = Usage(
            cpu_percentile=max(float(np.quantile(v, policy.cpu_percentile)) for v in per_series if len(v)),
            cpu_peak=max(float(v.max()) for v in per_series if len(v)),
            memory_peak=max(float(v.max()) for v in memory if len(v)),
            cpu_samples=int(instant(queries.cpu_samples(NAMESPACE, [model], window=window)) or 0),
            memory_samples=sum(len(v) for v in memory),
            history_days=(instant(queries.history_hours(NAMESPACE, [model], window=window)) or 0) / 24,
            throttled_share=throttled,
            oom_killed=(instant(queries.oom_killed(NAMESPACE, [model], window=window)) or 0) > 0,
            restarts=instant(queries.restarts(NAMESPACE, [model], window=window)) or 0.0,
            pods=len(memory),
            latency_p95_ms=latency * 1000 if latency is not None else None,
        )
    return usage


def _recommendations(usage: dict, *, policy: Any, sla_ms: float) -> dict[str, dict[str, str] | None]:
    from modelops.rightsizing.recommend import recommend, texts
    from modelops.rightsizing.usage import Resources

    current = Resources(cpu_request=0.25, cpu_limit=1.0, memory_request=512 * MIB, memory_limit=1024 * MIB)
    out: dict[str, dict[str, str] | None] = {}
    for (model, _), one in sorted(usage.items()):
        result = recommend(one, current, policy=policy, sla_ms=sla_ms)
        out[model] = texts(result.recommended) if result.recommended else None
    return out


def _fastest(run: Callable[[], dict], repeat: int) -> tuple[float, dict]:
    best, result = math.inf, {}
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.rightsizing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--days", type=float, default=30.0, help="days of history written")
    parser.add_argument("--window", default="30d", help="window rightsizing reads")
    parser.add_argument("--every", type=float, default=150.0, help="seconds between CPU and memory samples")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--environment", default="prod", help="environment whose rightsizing policy applies")
    args = parser.parse_args()

    from modelops.config import load_environment
    from modelops.rightsizing.prometheus import connect

    environment = load_environment(args.environment)
    policy = environment.rightsizing
    if policy is None:
        raise SystemExit(f"environments/{args.environment}.yaml has no rightsizing section")
    sla_ms = environment.promotion.latency.p95_ms
    console = Console()
    models = [f"model-{index:03d}" for index in range(args.models)]
    end = float(math.floor(time.time() / 3600) * 3600)
    at = datetime.fromtimestamp(end, UTC)
    with tempfile.TemporaryDirectory(prefix="modelops-bench-rightsizing-") as scratch:
        started = time.perf_counter()
        with history(_history(models, days=args.days, end=end, every=args.every).write, Path(scratch)) as url:
            loaded = time.perf_counter() - started
            console.print(
                f"{args.models} models, {args.days:g} days of history (CPU every {args.every:g} s) "
                f"written, backfilled and served in {loaded:.1f} s"
            )
            query = connect(url)
            sides: dict[str, tuple[float, dict]] = {}
            for name, run in (
                (
                    "promql, all models at once",
                    lambda: _promql_side(
                        query, models, window=args.window, policy=policy, at=at, batched=True
                    ),
                ),
                (
                    "promql, one model at a time",
                    lambda: _promql_side(
                        query, models, window=args.window, policy=policy, at=at, batched=False
                    ),
                ),
                (
                    "raw samples + numpy, per model",
                    lambda: _raw_side(url, query, models, window=args.window, policy=policy, at=at),
                ),
            ):

                def side(run: Callable[[], dict] = run) -> dict:
                    return _recommendations(run(), policy=policy, sla_ms=sla_ms)

                sides[name] = _fastest(side, args.repeat)
    baseline = next(iter(sides.values()))[1]
    table = Table(
        title=f"Rightsizing {args.models} models over a {args.window} window (fastest of {args.repeat})"
    )
    for column in ("side", "wall s", "per model ms", "x the all-at-once side", "recommendations agree"):
        table.add_column(column)
    first_s = next(iter(sides.values()))[0]
    for name, (seconds, result) in sides.items():
        table.add_row(
            name,
            f"{seconds:.2f}",
            f"{seconds / args.models * 1000:.1f}",
            f"{seconds / first_s:.1f}",
            "yes" if result == baseline else "NO",
        )
    console.print(table)
    refused = sum(1 for value in baseline.values() if value is None)
    changed = sum(1 for value in baseline.values() if value is not None)
    console.print(f"{changed} recommendations, {refused} refused; target: 100 models in under 10 s")
    return 0 if all(result == baseline for _, result in sides.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
