"""`python -m modelops.bench.rollout_analysis`: the canary analysis of N rollouts in progress against a
real Prometheus holding D days of their series, batched against one query per rollout and metric.

The history (backfilled by promtool, see prometheus_history): for each of N models a stable and a
candidate release with MLServer's request counter (200 and 503) and latency histogram (15 buckets),
every 15 s over the last `--fine-hours` and every `--coarse-minutes` before that, back D days; the
monitor job's drift and live metric for each release. A tenth of the candidates fail (5xx), a tenth
are slower than stable; a third are in a young step (their windows differ in length: the batched
side groups windows by length), the rest have baked.

Both sides judge the same rollouts with prod's policy (environments/prod.yaml) in one process, one
after the other, `--repeat` times each; the report gives the median wall time of each and their
ratio, the queries each sent, and checks that both reached the same decisions. The target: 100
rollouts over 30 days in under 10 s. Reading and writing the rollout history (MLflow) and the git
overlays are not part of it: they are the same on both sides.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from modelops.bench.prometheus_history import OpenMetricsWriter, history
from modelops.rollouts.queries import PrometheusApi

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf)
NAMESPACE = "models-prod"
SCRAPE_S = 15
TARGET_S = 10.0


def _model(i: int) -> str:
    return f"bench-model-{i:03d}"


def _behaviour(i: int, role: str) -> tuple[float, float, float]:
    """(requests per second, 5xx share, latency in seconds) of one release of model i."""
    if role == "stable":
        return 9.0, 0.0, 0.008
    if i % 10 == 3:
        return 1.0, 0.05, 0.008  # failing
    if i % 10 == 7:
        return 1.0, 0.0, 0.02  # slower than stable, within every absolute limit
    return 1.0, 0.0, 0.008


def _times(now: float, *, days: int, fine_hours: float, coarse_minutes: int) -> list[float]:
    fine_from = now - fine_hours * 3600
    coarse = list(range(int(now - days * 86400), int(fine_from), coarse_minutes * 60))
    fine = [fine_from + k * SCRAPE_S for k in range(int((now - fine_from) // SCRAPE_S) + 1)]
    return [float(t) for t in coarse] + fine


def _writer(n: int, now: float, *, days: int, fine_hours: float, coarse_minutes: int):
    times = _times(now, days=days, fine_hours=fine_hours, coarse_minutes=coarse_minutes)
    start = times[0]
    roles = ("stable", "candidate")

    def write(writer: OpenMetricsWriter) -> None:
        writer.family("rest_server_requests", "counter", "Total HTTP requests")
        for i in range(n):
            for role in roles:
                rps, errors, _ = _behaviour(i, role)
                labels = {"namespace": NAMESPACE, "model": _model(i), "release": role}
                writer.series(
                    {**labels, "status_code": "200"},
                    ((t, (t - start) * rps * (1 - errors)) for t in times),
                    suffix="_total",
                )
                writer.series(
                    {**labels, "status_code": "503"},
                    ((t, (t - start) * rps * errors) for t in times),
                    suffix="_total",
                )
        writer.family("rest_server_request_duration_seconds", "histogram", "HTTP request duration")
        for i in range(n):
            for role in roles:
                rps, _, latency = _behaviour(i, role)
                labels = {"namespace": NAMESPACE, "model": _model(i), "release": role}
                for le in BUCKETS:
                    bound = "+Inf" if math.isinf(le) else repr(le)
                    inside = 1.0 if latency <= le else 0.0
                    writer.series(
                        {**labels, "le": bound},
                        ((t, (t - start) * rps * inside) for t in times),
                        suffix="_bucket",
                    )
        recent = [t for t in times if t >= now - 3600]
        writer.family("modelops_drift_score", "gauge", "Distance of a column")
        for i in range(n):
            for role in roles:
                labels = {"model": _model(i), "release": role, "column": "amount"}
                writer.series(labels, ((t, 0.03) for t in recent))
        writer.family("modelops_drift_detected", "gauge", "1 when the monitor finds the column drifted")
        for i in range(n):
            for role in roles:
                labels = {"model": _model(i), "release": role, "column": "amount"}
                writer.series(labels, ((t, 0.0) for t in recent))
        writer.family("modelops_live_metric", "gauge", "A metric on the window's labelled rows")
        for i in range(n):
            for role in roles:
                labels = {"model": _model(i), "release": role, "metric": "roc_auc"}
                writer.series(labels, ((t, 0.78) for t in recent))

    return write, len(times)


class _Counting:
    """The Prometheus client, counting the queries a side sends."""

    def __init__(self, inner: PrometheusApi) -> None:
        self.inner, self.queries = inner, 0

    def instant(self, query: str, *, at: float) -> list[dict[str, Any]]:
        self.queries += 1
        return self.inner.instant(query, at=at)

    def series(self, query: str, *, start: float, end: float, step_s: int) -> list[dict[str, Any]]:
        self.queries += 1
        return self.inner.series(query, start=start, end=end, step_s=step_s)


def _analyse(prometheus, n: int, now: float, *, batched: bool) -> tuple[dict[str, str], float, int]:
    """Every rollout's decision, the wall time to reach them all, and the queries sent."""
    from modelops.config import load_environment
    from modelops.rollouts.analysis import decide, limits_of, window_for
    from modelops.rollouts.queries import Planned, measure

    limits = limits_of(load_environment("prod"))
    steps = load_environment("prod").gitops.rollout.steps
    counting = _Counting(prometheus)
    started = time.perf_counter()
    planned = []
    for i in range(n):
        # A third of the steps are young (each its own window length), the rest have baked.
        step_start = now - (10 + i % 30) * 60 if i % 3 == 0 else now - 50 * 60
        percent = steps[i % len(steps)]
        window = window_for(
            step_start, now, candidate_percent=percent, last_step=percent == steps[-1], limits=limits
        )
        planned.append(Planned(_model(i), window))
    measured = measure(
        counting, planned, namespace=NAMESPACE, interval=limits.policy.interval_seconds, batched=batched
    )
    decisions: dict[str, str] = {}
    for plan in planned:
        releases = measured[plan.model]
        # The bench's traffic is 10 % candidate whatever the step says: judge its share as 10 %.
        window = replace(plan.window, candidate_percent=10)
        verdict = decide(
            releases["candidate"], releases["stable"], window=window, limits=limits, empty_windows_before=0
        )
        decisions[plan.model] = verdict.decision
    return decisions, time.perf_counter() - started, counting.queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.rollout_analysis", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rollouts", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--fine-hours", type=float, default=1.5, help="recent hours at the 15 s scrape")
    parser.add_argument("--coarse-minutes", type=int, default=120, help="sample spacing before that")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from modelops.rollouts.queries import Prometheus

    console = Console()
    now = math.floor(time.time() / 60) * 60 - 60
    write, points = _writer(
        args.rollouts, now, days=args.days, fine_hours=args.fine_hours, coarse_minutes=args.coarse_minutes
    )
    series = args.rollouts * 2 * (2 + len(BUCKETS))
    console.print(f"backfilling {series:,} serving series x {points:,} points ({args.days} days) ...")
    with tempfile.TemporaryDirectory(prefix="modelops-bench-rollouts-") as scratch:
        loaded = time.perf_counter()
        with history(write, Path(scratch)) as base:
            load_s = time.perf_counter() - loaded
            prometheus = Prometheus(base)
            runs: dict[str, list[float]] = {"batched": [], "one per rollout": []}
            sent: dict[str, int] = {}
            decided: dict[str, dict[str, str]] = {}
            # Imports (scipy, pandas under the client) and Prometheus' first reads happen once, untimed.
            _analyse(prometheus, args.rollouts, now, batched=True)
            for _ in range(args.repeat):
                for side, batched in (("batched", True), ("one per rollout", False)):
                    decisions, seconds, queries = _analyse(prometheus, args.rollouts, now, batched=batched)
                    runs[side].append(seconds)
                    sent[side], decided[side] = queries, decisions
    agree = decided["batched"] == decided["one per rollout"]
    medians = {side: statistics.median(times) for side, times in runs.items()}
    table = Table(
        title=f"Canary analysis of {args.rollouts} rollouts, {args.days} days of series "
        f"(median of {args.repeat})"
    )
    for column in ("side", "wall s", "queries", "decisions"):
        table.add_column(column)
    for side, seconds in medians.items():
        counts = Counter(decided[side].values())
        table.add_row(
            side, f"{seconds:.2f}", str(sent[side]), ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
    console.print(table)
    ratio = medians["one per rollout"] / medians["batched"] if medians["batched"] else math.inf
    console.print(
        f"history loaded in {load_s:.1f} s; batched is {ratio:.1f}x faster; "
        f"both sides reached the same decisions: {agree}; "
        f"target {TARGET_S:g} s: {'met' if medians['batched'] < TARGET_S else 'MISSED'}",
        soft_wrap=True,
    )
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
